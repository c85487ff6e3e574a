import t, { type Test } from 'tap';
import { request } from 'undici';
import { RedisStore } from '../../src/store/redis-store.js';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { bearer, startHarness, type Harness } from '../helpers/harness.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue #18 on both persistent stores: personal tokens without a repository, teams, rotation,
// leak reports, expiring soon, last use with address and User-Agent, the lifetime cap.

const HOUR = 3_600_000;

const status = async (h: Harness, secret: string, path = '/v1/repositories/sensors/data', headers: Record<string, string> = {}) => {
  const res = await request(`${h.proxy}${path}`, { headers: { ...bearer(secret), ...headers } });
  await res.body.dump();
  return res.statusCode;
};
const metricLine = async (h: Harness, pattern: RegExp) => pattern.exec(await (await request(`${h.admin}/metrics`)).body.text())?.[1];

const backends = await persistentBackends(t);
for (const [backend, open] of Object.entries(backends)) {
  t.test(`lifecycle, second wave, on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open(), config: { admin: { maxTokenLifetime: '' } } });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'] } });
    await call(h, 'POST', '/v1/users', admin, { name: 'bob', grants: {} });

    t.test('a personal token without a repository covers all its user repositories (*)', async (t) => {
      const res = await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'phone', user: 'alice', rights: ['query', 'stream'] });
      t.equal(res.status, 201);
      t.equal(res.body.token.repository, '*');
      t.equal(await status(h, res.body.secret), 200);
      const repoless = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'x', rights: ['query'] });
      t.equal(repoless.status, 400);
      t.match(repoless.body.detail, /^repository: required for a repository token/);
    });

    t.test("teams: a member's personal tokens hold the team's grants at once, and lose them at once", async (t) => {
      const token = (await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'laptop', user: 'bob', rights: ['query', 'stream'] })).body;
      t.equal(await status(h, token.secret), 403, 'bob holds nothing yet');
      const created = await call(h, 'POST', '/v1/teams', admin, { name: 'platform', members: ['bob'], grants: { sensors: ['query'] } });
      t.equal(created.status, 201);
      t.same(created.body.members, ['bob']);
      t.equal(await status(h, token.secret), 200, 'the team grant applies to the next request');
      const bob = await call(h, 'GET', '/v1/users/bob', admin);
      t.same(bob.body.teams, ['platform']);
      t.same(bob.body.effectiveGrants, { sensors: ['query'] });
      t.same(bob.body.grants, {}, "bob's own grants are unchanged");
      t.equal((await call(h, 'PATCH', '/v1/teams/platform', admin, { grants: { sensors: ['stream'] } })).status, 200);
      t.equal(await status(h, token.secret), 403, 'a team grant taken away is gone at once');
      t.equal((await call(h, 'PATCH', '/v1/teams/platform', admin, { grants: { sensors: ['query'] } })).status, 200);
      t.equal(await status(h, token.secret), 200);
      t.equal((await call(h, 'PATCH', '/v1/teams/platform', admin, { members: [] })).status, 200);
      t.equal(await status(h, token.secret), 403, 'a member removed loses the grants at once');
      const unknown = await call(h, 'POST', '/v1/teams', admin, { name: 'ghosts', members: ['nobody'] });
      t.equal(unknown.status, 400);
      t.match(unknown.body.detail, /^members\.0: no user named nobody/);
      const history = await call(h, 'GET', '/v1/teams/platform/history', admin);
      t.same(history.body.items.map((e: { action: string }) => e.action), ['created', 'edited', 'edited', 'edited']);
      t.equal((await call(h, 'DELETE', '/v1/teams/platform', admin)).status, 204);
      t.equal((await call(h, 'GET', '/v1/teams/platform', admin)).status, 404);
      t.equal((await call(h, 'GET', '/v1/teams/platform/history', admin)).body.items.length, 5, 'history stays after delete');
      const scoped = await h.token(['admin', 'query'], 'sensors');
      t.equal((await call(h, 'POST', '/v1/teams', scoped.secret, { name: 'mine' })).status, 403, 'teams are for * admins');
    });

    t.test('roll with no overlap: a new secret for the same token, the old one revoked at once', async (t) => {
      const old = await h.token(['query'], 'sensors', { expiresIn: '10d' });
      const rolled = await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin);
      t.equal(rolled.status, 201);
      t.not(rolled.body.secret, old.secret);
      t.match(rolled.body.token, { name: old.token.name, repository: 'sensors', rights: ['query'], expiresAt: old.token.expiresAt, kind: 'repository' });
      t.equal(await status(h, old.secret), 401);
      t.equal(await status(h, rolled.body.secret), 200);
      const oldHistory = (await call(h, 'GET', `/v1/tokens/${old.token.id}/history`, admin)).body.items;
      t.match(oldHistory.at(-1), { action: 'rolled', changes: { rolledTo: { to: rolled.body.token.id }, status: { to: 'revoked' } } });
      const newHistory = (await call(h, 'GET', `/v1/tokens/${rolled.body.token.id}/history`, admin)).body.items;
      t.match(newHistory[0], { action: 'rolled', changes: { rolledFrom: { to: old.token.id } } });
      t.equal((await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin)).status, 409, 'only an active token rolls');
    });

    t.test('roll with an overlap: both secrets work until the old one expires', async (t) => {
      const old = await h.token(['query'], 'sensors');
      const rolled = await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin, { overlap: '1h' });
      t.equal(rolled.status, 201);
      t.equal(rolled.body.token.expiresAt, null, 'the remaining lifetime: none');
      t.equal(await status(h, old.secret), 200);
      t.equal(await status(h, rolled.body.secret), 200);
      const oldView = (await call(h, 'GET', `/v1/tokens/${old.token.id}`, admin)).body;
      t.equal(Date.parse(oldView.expiresAt), h.clock.now() + HOUR);
      h.clock.advance(HOUR);
      t.teardown(() => h.clock.advance(-HOUR)); // later tests in this harness keep their clock
      t.equal(await status(h, old.secret), 401, 'the old secret ends with the overlap');
      t.equal(await status(h, rolled.body.secret), 200);
      const tooLong = await call(h, 'POST', `/v1/tokens/${rolled.body.token.id}/roll`, admin, { overlap: '31d' });
      t.equal(tooLong.status, 400);
      t.match(tooLong.body.detail, /^overlap: expected at most 30d/);
    });

    t.test('the tokens a rolled token lent end with the old secret', async (t) => {
      const parent = (await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'lent', user: 'alice', repository: 'sensors', rights: ['query'] })).body;
      const child = (await call(h, 'POST', '/v1/tokens', parent.secret, { kind: 'personal', name: 'child', user: 'alice', repository: 'sensors', rights: ['query'] })).body;
      const rolled = (await call(h, 'POST', `/v1/tokens/${parent.token.id}/roll`, admin)).body;
      t.equal((await call(h, 'GET', `/v1/tokens/${child.token.id}`, admin)).body.parentId, parent.token.id, 'still bound to the secret that lent it');
      t.equal(await status(h, child.secret), 401, 'revoked with the old secret: no overlap left');
      t.equal(await status(h, rolled.secret), 200);
    });

    t.test('leak reports revoke what they name, say only counts, and are budgeted per address', async (t) => {
      const leaked = await h.token(['query']);
      const other = await h.token(['query']);
      const res = await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: [leaked.secret, 'tgr_nothing', `${other.secret.slice(0, -1)}${other.secret.endsWith('x') ? 'y' : 'x'}`] });
      t.equal(res.status, 200);
      t.same(res.body, { received: 3, revoked: 1 });
      t.equal(await status(h, leaked.secret), 401);
      t.equal(await status(h, other.secret), 200, 'a near miss revokes nothing');
      const history = (await call(h, 'GET', `/v1/tokens/${leaked.token.id}/history`, admin)).body.items;
      t.match(history.at(-1), { action: 'leaked', actor: 'leak-report' });
      t.same((await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: [leaked.secret] })).body, { received: 1, revoked: 0 }, 'already revoked');
      const many = Array.from({ length: 1000 }, () => 'tgr_x');
      const spent = await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: many });
      t.equal(spent.status, 429, 'over 1000 secrets a minute from one address');
      t.match(spent.headers['retry-after'], /^\d+$/);
      h.clock.advance(60_000);
      t.teardown(() => h.clock.advance(-60_000));
      t.equal((await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: many })).status, 200, 'a new minute, a new budget');
    });

    t.test('expiring soon: the list filter and the gauge', async (t) => {
      const soon = await h.token(['query'], 'sensors', { expiresIn: '2d' });
      await h.token(['query'], 'sensors', { expiresIn: '30d' });
      const list = await call(h, 'GET', '/v1/tokens?expiresWithin=3d&limit=500', admin);
      t.equal(list.status, 200);
      t.ok(list.body.items.some((item: { id: string }) => item.id === soon.token.id));
      t.ok(list.body.items.every((item: { expiresAt: string; status: string }) => item.status === 'active' && Date.parse(item.expiresAt) <= h.clock.now() + 3 * 86_400_000));
      const gauge = Number(await metricLine(h, /^tollgate_tokens_expiring_soon\{kind="repository"\} (\d+)$/m));
      t.ok(gauge >= 1, `gauge ${gauge}`);
      t.equal((await call(h, 'GET', '/v1/tokens?expiresWithin=soon', admin)).status, 400);
    });

    t.test('last use: time, address and User-Agent, written in the batch', async (t) => {
      const token = await h.token(['query']);
      t.equal(await status(h, token.secret, '/v1/repositories/sensors/data', { 'user-agent': 'sensor-fw/4.2' }), 200);
      await h.tollgate.flushLastUsed();
      const view = (await call(h, 'GET', `/v1/tokens/${token.token.id}`, admin)).body;
      t.equal(view.lastUsedIp, '127.0.0.1');
      t.equal(view.lastUsedUserAgent, 'sensor-fw/4.2');
      t.ok(view.lastUsedAt);
    });
  });
}

t.test('admin.maxTokenLifetime caps every expiry set through the API', async (t) => {
  const h = await startHarness({ config: { admin: { maxTokenLifetime: '30d' } } });
  t.teardown(() => h.close());
  const none = await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'repository', name: 'x', repository: 'sensors', rights: ['query'] });
  t.equal(Date.parse(none.body.token.expiresAt), h.clock.now() + 30 * 86_400_000, 'no expiry becomes the maximum');
  const beyond = await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'repository', name: 'x', repository: 'sensors', rights: ['query'], expiresIn: '31d' });
  t.equal(beyond.status, 400);
  t.match(beyond.body.detail, /^expiresIn: must be within admin\.maxTokenLifetime/);
  const edit = await call(h, 'PATCH', `/v1/tokens/${none.body.token.id}`, h.adminSecret, { expiresAt: null });
  t.equal(Date.parse(edit.body.expiresAt), h.clock.now() + 30 * 86_400_000, 'nor by an edit');
});

t.test("a team's grant change reaches a second replica at once", async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const replica = async () => {
    const store = new RedisStore({ url: redis.url, keyPrefix: 'teams:', commandTimeoutMs: 500 });
    await store.waitUntilReady(5000);
    return startHarness({ store });
  };
  const a = await replica();
  const b = await replica();
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await call(a, 'POST', '/v1/users', a.adminSecret, { name: 'carl', grants: {} });
  await call(a, 'POST', '/v1/teams', a.adminSecret, { name: 'data', members: ['carl'], grants: { sensors: ['query'] } });
  const token = (await call(a, 'POST', '/v1/tokens', a.adminSecret, { kind: 'personal', name: 'p', user: 'carl', rights: ['query'] })).body;
  t.equal(await status(b, token.secret), 200, 'cached on b through the team');
  t.equal((await call(a, 'PATCH', '/v1/teams/data', a.adminSecret, { grants: {} })).status, 200);
  await waitFor(async () => (await status(b, token.secret)) === 403, { what: 'b to drop the team grant', timeoutMs: 1000, everyMs: 5 });
});
