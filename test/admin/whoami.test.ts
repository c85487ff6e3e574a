import t from 'tap';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';

// GET /v1/whoami: what the page and `tollgate whoami` show, for each kind of caller.

const h = await startHarness();
t.teardown(() => h.close());
const admin = h.adminSecret;

t.test('the * admin sees its own token, role star and its rights on *', async (t) => {
  const res = await call(h, 'GET', '/v1/whoami', admin);
  t.equal(res.status, 200);
  t.equal(res.body.role, 'star');
  t.equal(res.body.token.repository, '*');
  t.same(res.body.effectiveRights, { '*': res.body.token.rights });
  t.notOk(JSON.stringify(res.body).includes(admin), 'never the secret');
});

t.test('a repository token without admin may ask, and learns role none', async (t) => {
  const token = await h.token(['query', 'stream'], 'sensors');
  const res = await call(h, 'GET', '/v1/whoami', token.secret);
  t.equal(res.status, 200);
  t.equal(res.body.role, 'none');
  t.equal(res.body.token.id, token.token.id);
  t.same(res.body.effectiveRights, { sensors: ['stream', 'query'] });
});

t.test("a personal token on * shows its rights ∩ its user's grants, per repository", async (t) => {
  t.equal((await call(h, 'POST', '/v1/repositories', admin, { name: 'constructor' })).status, 201);
  t.equal((await call(h, 'POST', '/v1/users', admin, { name: 'wanda', grants: { sensors: ['query', 'stream'], constructor: ['query'] } })).status, 201);
  const made = await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'phone', user: 'wanda', rights: ['query', 'modify'] });
  t.equal(made.status, 201);
  const res = await call(h, 'GET', '/v1/whoami', made.body.secret);
  t.equal(res.status, 200);
  t.equal(res.body.role, 'personal');
  t.same(
    res.body.effectiveRights,
    { '*': [], sensors: ['query'], constructor: ['query'] },
    'modify is on the token but not granted; a name like constructor is an ordinary key',
  );
});

t.test('a scoped admin is scoped; no token is 401', async (t) => {
  const scoped = await h.token(['admin', 'query'], 'sensors');
  t.equal((await call(h, 'GET', '/v1/whoami', scoped.secret)).body.role, 'scoped');
  t.equal((await call(h, 'GET', '/v1/whoami', undefined)).status, 401);
});
