import t, { type Test } from 'tap';
import { RedisStore } from '../../src/store/redis-store.js';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { startHarness } from '../helpers/harness.js';
import { proxyStatus as status } from '../helpers/proxy-status.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

// Personal tokens hold their user's grants and their teams' grants (docs/tokens.md), on both
// persistent stores and across replicas.

const backends = await persistentBackends(t);

for (const [backend, open] of Object.entries(backends)) {
  t.test(`personal tokens and teams on the ${backend} store`, async (t: Test) => {
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
      t.same(
        history.body.items.map((e: { action: string }) => e.action),
        ['created', 'edited', 'edited', 'edited'],
      );
      t.equal((await call(h, 'DELETE', '/v1/teams/platform', admin)).status, 204);
      t.equal((await call(h, 'GET', '/v1/teams/platform', admin)).status, 404);
      t.equal((await call(h, 'GET', '/v1/teams/platform/history', admin)).body.items.length, 5, 'history stays after delete');
      const scoped = await h.token(['admin', 'query'], 'sensors');
      t.equal((await call(h, 'POST', '/v1/teams', scoped.secret, { name: 'mine' })).status, 403, 'teams are for * admins');
    });
  });
}

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
