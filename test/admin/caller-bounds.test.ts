import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { directoryCalls } from '../helpers/directory-calls.js';
import { bearer, startHarness } from '../helpers/harness.js';

// What a caller does to a token is bounded by what the caller holds: a scoped admin makes no token
// for another user, restores or extends nothing wider than itself, lends nothing that outlives the
// loan, and no token widens itself. The general properties live in policy.property.test.ts.

const h = await startHarness();
t.teardown(() => h.close());
const admin = h.adminSecret;

// Names are unique per user: each personal token gets a number of its own.
const { user, personal } = directoryCalls(h);

await user('carol', { '*': ['admin', 'query', 'stream', 'modify', 'delete'] });
await user('dave', { sensors: ['query'] });
await user('erin', { sensors: ['query', 'stream', 'modify', 'delete'] });

t.test('a scoped admin cannot mint a personal token acting as another user', async (t) => {
  const scoped = await h.token(['admin', 'query'], 'sensors');
  const res = await personal(scoped.secret, { user: 'carol', repository: 'sensors', rights: ['query'] });
  t.equal(res.status, 403);
  t.match(res.body.detail, /^user: only an admin of \* makes personal tokens for another user/);
  // And a personal token of carol's that does exist, scoped to sensors, reaches no further.
  const carolSensors = (await personal(admin, { user: 'carol', repository: 'sensors', rights: ['query'] })).body;
  const carolStar = (await personal(admin, { user: 'carol', repository: '*', rights: ['admin', 'query'] })).body;
  const list = await call(h, 'GET', '/v1/tokens?limit=500', carolSensors.secret);
  t.equal(list.status, 200);
  t.notOk(
    list.body.items.some((item: { id: string }) => item.id === carolStar.token.id),
    "carol's * token stays out of view",
  );
  t.equal((await call(h, 'POST', `/v1/tokens/${carolStar.token.id}/revoke`, carolSensors.secret)).status, 403);
  t.equal((await call(h, 'GET', '/v1/users/dave', carolSensors.secret)).status, 403);
});

t.test('restore is bounded by the caller: a query-only token restores nothing wider', async (t) => {
  const wide = (await personal(admin, { user: 'erin', repository: 'sensors', rights: ['stream', 'query', 'modify', 'delete'] })).body;
  const narrow = (await personal(admin, { user: 'erin', repository: 'sensors', rights: ['query'] })).body;
  t.equal((await call(h, 'POST', `/v1/tokens/${wide.token.id}/revoke`, narrow.secret)).status, 200, 'revoking is always within reach');
  const restore = await call(h, 'POST', `/v1/tokens/${wide.token.id}/restore`, narrow.secret);
  t.equal(restore.status, 403);
  t.match(restore.body.detail, /^rights: restoring would hand out stream, modify, delete/);
  t.equal((await call(h, 'GET', `/v1/tokens/${wide.token.id}`, admin)).body.status, 'revoked');
});

t.test('a later expiry is bounded like a restore: a scoped admin cannot extend a wider token', async (t) => {
  // Found by policy.property.test.ts in CI: an admin of sensors holding only `admin` set "never"
  // on a token with `delete` that had expired, and so handed `delete` out again.
  const scoped = await h.token(['admin'], 'sensors');
  const wide = await h.token(['admin', 'delete'], 'sensors', { expiresIn: '1h' });
  const extend = await call(h, 'PATCH', `/v1/tokens/${wide.token.id}`, scoped.secret, { expiresAt: null });
  t.equal(extend.status, 403);
  t.match(extend.body.detail, /^expiresAt: a later expiry would hand out delete/);
  const sooner = await call(h, 'PATCH', `/v1/tokens/${wide.token.id}`, scoped.secret, { expiresIn: '30m', name: 'shorter' });
  t.equal(sooner.status, 200, 'a sooner expiry and a new name stay within reach');
  const full = await h.token(['admin', 'delete', 'query'], 'sensors');
  t.equal((await call(h, 'PATCH', `/v1/tokens/${wide.token.id}`, full.secret, { expiresIn: '2h' })).status, 200, 'an admin holding delete may extend it');
});

t.test('a lent token lends nothing that outlives the loan', async (t) => {
  const lent = (await personal(admin, { user: 'dave', repository: 'sensors', rights: ['query'], expiresIn: '1h' })).body;
  const child = await personal(lent.secret, { user: 'dave', repository: 'sensors', rights: ['query'] });
  t.equal(child.status, 201);
  t.equal(child.body.token.expiresAt, lent.token.expiresAt, 'no expiry asked: the parent expiry');
  t.equal(child.body.token.parentId, lent.token.id);
  const longer = await personal(lent.secret, { user: 'dave', repository: 'sensors', rights: ['query'], expiresIn: '30d' });
  t.equal(longer.status, 403);
  t.match(longer.body.detail, /^expiresIn: must be no later than this token's own expiry/);
  const grandchild = (await personal(child.body.secret, { user: 'dave', repository: 'sensors', rights: ['query'] })).body;
  t.equal((await call(h, 'POST', `/v1/tokens/${lent.token.id}/revoke`, admin)).status, 200);
  for (const token of [child.body, grandchild]) {
    t.equal((await call(h, 'GET', `/v1/tokens/${token.token.id}`, admin)).body.status, 'revoked');
    const res = await request(`${h.proxy}/v1/repositories/sensors/x`, { headers: bearer(token.secret) });
    await res.body.dump();
    t.equal(res.statusCode, 401, 'its children stop at once');
  }
  const history = await call(h, 'GET', `/v1/tokens/${grandchild.token.id}/history`, admin);
  t.same(
    history.body.items.map((e: { action: string }) => e.action),
    ['created', 'revoked'],
  );
  const again = await call(h, 'POST', `/v1/tokens/${child.body.token.id}/restore`, admin);
  t.equal(again.status, 409, 'a child comes back only while its parent is active');
});

t.test('a parent whose expiry comes sooner takes its children with it', async (t) => {
  const parent = (await personal(admin, { user: 'dave', repository: 'sensors', rights: ['query'], expiresIn: '10d' })).body;
  const child = (await personal(parent.secret, { user: 'dave', repository: 'sensors', rights: ['query'] })).body;
  const edited = await call(h, 'PATCH', `/v1/tokens/${parent.token.id}`, admin, { expiresIn: '1h' });
  t.equal(edited.status, 200);
  t.equal((await call(h, 'GET', `/v1/tokens/${child.token.id}`, admin)).body.expiresAt, edited.body.expiresAt);
  const later = await call(h, 'PATCH', `/v1/tokens/${child.token.id}`, admin, { expiresAt: null });
  t.equal(later.status, 403, 'a child never outlives its parent, even by an admin edit');
});

t.test('a token cannot widen itself: its own expiry only comes sooner, its own rights only shrink', async (t) => {
  const self = await h.token(['admin', 'query'], 'sensors', { expiresIn: '1h' });
  const extend = await call(h, 'PATCH', `/v1/tokens/${self.token.id}`, self.secret, { expiresAt: null });
  t.equal(extend.status, 403);
  t.equal((await call(h, 'PATCH', `/v1/tokens/${self.token.id}`, self.secret, { rights: ['admin', 'query', 'stream'] })).status, 403);
  t.equal((await call(h, 'PATCH', `/v1/tokens/${self.token.id}`, self.secret, { expiresIn: '10m' })).status, 200);
  const carolStar = (await personal(admin, { user: 'carol', repository: '*', rights: ['admin', 'query'] })).body;
  const grants = await call(h, 'PATCH', '/v1/users/carol', carolStar.secret, { grants: { '*': ['admin', 'query', 'stream', 'modify', 'delete'] } });
  t.equal(grants.status, 403, "no caller changes its own user's grants");
});
