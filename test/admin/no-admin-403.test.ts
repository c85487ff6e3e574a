import t from 'tap';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';

// A repository token without the admin right (role none) has no admin API: every route but
// whoami and settings answers 403, rather than an empty list as if there were nothing to see.

const h = await startHarness();
t.teardown(() => h.close());
const data = await h.token(['query', 'stream'], 'sensors');
const someId = data.token.id;

t.test('a data token gets 403 insufficient-scope on every admin route, reads and writes alike', async (t) => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/v1/tokens'],
    ['GET', `/v1/tokens/${someId}`],
    ['GET', `/v1/tokens/${someId}/history`],
    ['POST', `/v1/tokens/${someId}/revoke`],
    ['POST', '/v1/tokens', { kind: 'repository', name: 'x', repository: 'sensors', rights: ['query'] }],
    ['POST', '/v1/tokens/delete', { ids: [someId] }],
    ['GET', '/v1/users'],
    ['GET', '/v1/teams'],
    ['GET', '/v1/repositories'],
  ];
  for (const [method, path, body] of routes) {
    const res = await call(h, method, path, data.secret, body);
    t.equal(res.status, 403, `${method} ${path}`);
    t.equal(res.body.type, '/problems/insufficient-scope', `${method} ${path}`);
    t.match(res.body.detail, /no admin right/);
  }
  t.equal((await call(h, 'GET', `/v1/tokens/${someId}`, h.adminSecret)).body.status, 'active', 'the refused revoke changed nothing');
});

t.test('whoami and settings stay open to it', async (t) => {
  const me = await call(h, 'GET', '/v1/whoami', data.secret);
  t.equal(me.status, 200);
  t.equal(me.body.role, 'none');
  t.equal((await call(h, 'GET', '/v1/settings', data.secret)).status, 200);
});

t.test('a personal token without admin keeps its self-service', async (t) => {
  t.equal((await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'pat', grants: { sensors: ['query'] } })).status, 201);
  const own = await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'personal', name: 'laptop', user: 'pat', rights: ['query'] });
  t.equal(own.status, 201);
  const list = await call(h, 'GET', '/v1/tokens', own.body.secret);
  t.equal(list.status, 200);
  t.same(
    list.body.items.map((i: { id: string }) => i.id),
    [own.body.token.id],
  );
  const made = await call(h, 'POST', '/v1/tokens', own.body.secret, { kind: 'personal', name: 'for a colleague', user: 'pat', rights: ['query'] });
  t.equal(made.status, 201);
});

t.test('no token is still 401, not 403', async (t) => {
  t.equal((await call(h, 'GET', '/v1/tokens', undefined)).status, 401);
});
