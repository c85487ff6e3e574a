import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { directoryCalls } from '../helpers/directory-calls.js';
import { bearer, startHarness } from '../helpers/harness.js';

// Hostile input to the admin API: a repository named like an Object.prototype member is an
// ordinary repository, and repeated sort keys, a lifetime past any date and control, separator or
// bidi characters in names are 400s naming the field, never a crash or a 500.

const h = await startHarness();
t.teardown(() => h.close());
const admin = h.adminSecret;

// Names are unique per user: each personal token gets a number of its own.
const { user, personal } = directoryCalls(h);

await call(h, 'POST', '/v1/repositories', admin, { name: 'constructor' });

t.test('a repository named like an Object.prototype member is an ordinary repository, not a crash', async (t) => {
  await user('quinn', { sensors: ['query'] });
  const token = (await personal(admin, { user: 'quinn', repository: '*', rights: ['query'] })).body;
  const res = await request(`${h.proxy}/v1/repositories/constructor/x`, { headers: bearer(token.secret) });
  await res.body.dump();
  t.equal(res.statusCode, 403, 'quinn holds no grant on the repository named constructor');
  const stillUp = await request(`${h.proxy}/v1/repositories/sensors/x`, { headers: bearer(token.secret) });
  await stillUp.body.dump();
  t.equal(stillUp.statusCode, 200, 'and the process still serves');
  const self = await personal(token.secret, { user: 'quinn', repository: 'constructor', rights: ['query'] });
  t.equal(self.status, 403, 'self-service on it is refused, not a 500');
});

t.test('sort keys are bounded: a repeated field is refused, naming the field', async (t) => {
  const repeated = await call(h, 'GET', `/v1/tokens?sort=${Array(280).fill('name,-user,kind,status,createdAt,expiresAt').join(',')}`, admin);
  t.equal(repeated.status, 400);
  t.match(repeated.body.detail, /^sort: /);
  const twice = await call(h, 'GET', '/v1/tokens?sort=name,-name', admin);
  t.equal(twice.status, 400);
  t.match(twice.body.detail, /^sort: name appears more than once/);
  const all = await call(h, 'GET', '/v1/tokens?sort=name,user,repository,kind,status,createdAt,expiresAt,lastUsedAt', admin);
  t.equal(all.status, 200, 'all eight fields once is fine');
});

t.test('a lifetime beyond a date is a 400 naming the field, not a 500', async (t) => {
  const res = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'x', repository: 'sensors', rights: ['query'], expiresIn: '99999999d' });
  t.equal(res.status, 400);
  t.match(res.body.detail, /^expiresIn: expected at most 36500d/);
});

t.test('names refuse control, separator and bidi characters', async (t) => {
  for (const name of ['a\u001b[2Jb', 'row\r\nfake', 'x\u009bq', 'evil\u202egnp', 'a\u2028b']) {
    const res = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name, repository: 'sensors', rights: ['query'] });
    // The message is escaped: a raw U+202E here reorders tap's own report.
    const shown = name.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    t.equal(res.status, 400, shown);
    t.match(res.body.detail, /^name: expected no control/);
  }
  const token = await h.token(['query']);
  t.equal((await call(h, 'PATCH', `/v1/tokens/${token.token.id}`, admin, { name: 'ok\u0007' })).status, 400);
});
