import t, { type Test } from 'tap';
import { request } from 'undici';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { TokenStore } from '../../src/store/token-store.js';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { bearer, startHarness } from '../helpers/harness.js';

// Organizations end to end through the admin API and the proxy (docs/organizations.md), on every
// store: the `@org` scope, organization admins that see and change only their organization,
// delete only when empty, organization views and filters.

const backends: Record<string, () => Promise<TokenStore>> = { memory: async () => new MemoryStore(), ...(await persistentBackends(t)) };

const status = async (url: string, secret: string) => {
  const res = await request(url, { headers: bearer(secret) });
  await res.body.dump();
  return res.statusCode;
};

for (const [backend, open] of Object.entries(backends)) {
  t.test(`organizations on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open() });
    t.teardown(() => h.close());
    const star = h.adminSecret;
    const ok = async (method: string, path: string, body?: unknown, secret = star) => {
      const reply = await call(h, method, path, secret, body);
      if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
      return reply.body;
    };
    await ok('POST', '/v1/organizations', { name: 'acme', displayName: 'Acme Inc' });
    await ok('POST', '/v1/organizations', { name: 'globex' });
    await ok('POST', '/v1/repositories', { name: 'a1', organization: 'acme' });
    await ok('POST', '/v1/repositories', { name: 'g1', organization: 'globex' });
    const acmeAdmin = (await ok('POST', '/v1/tokens', { kind: 'repository', name: 'acme admin', repository: '@acme', rights: ['admin', 'query', 'stream'] }))
      .secret as string;
    await ok('POST', '/v1/users', { name: 'alice', grants: { '@acme': ['query'], g1: ['query'], sensors: ['stream'] } });

    t.test('default is there from the start and holds the repositories made without naming one', async (t) => {
      const list = await ok('GET', '/v1/organizations');
      t.same(
        list.items.map((o: { name: string }) => o.name),
        ['acme', 'default', 'globex'],
      );
      const repos = await ok('GET', '/v1/repositories');
      t.same(Object.fromEntries(repos.items.map((r: { name: string; organization: string }) => [r.name, r.organization])), {
        a1: 'acme',
        billing: 'default',
        g1: 'globex',
        sensors: 'default',
      });
      t.same(
        (await ok('GET', '/v1/repositories?organization=globex')).items.map((r: { name: string }) => r.name),
        ['g1'],
      );
      t.equal((await call(h, 'POST', '/v1/organizations', star, { name: 'acme' })).status, 409);
      t.equal(
        (await call(h, 'POST', '/v1/repositories', star, { name: 'x1', organization: 'nowhere' })).body.errors?.[0]?.field ??
          (await call(h, 'GET', '/v1/organizations/nowhere', star)).status,
        'organization',
      );
      const bad = await call(h, 'POST', '/v1/organizations', star, { name: 'Bad Name' });
      t.equal(bad.status, 400);
      t.match(JSON.stringify(bad.body), /name/);
    });

    t.test('an organization is read and renamed; its display name is checked', async (t) => {
      t.equal((await ok('GET', '/v1/organizations/acme')).displayName, 'Acme Inc');
      t.equal((await ok('PATCH', '/v1/organizations/acme', { displayName: 'ACME' })).displayName, 'ACME');
      t.equal((await call(h, 'PATCH', '/v1/organizations/acme', star, { displayName: 'a\u202eb' })).status, 400);
      t.equal((await call(h, 'GET', '/v1/organizations/nope', star)).status, 404);
    });

    t.test('a token on @acme reaches every repository of acme, one made later too, and no other', async (t) => {
      const reader = (await ok('POST', '/v1/tokens', { kind: 'repository', name: 'acme reader', repository: '@acme', rights: ['query'] })).secret as string;
      const view = await ok('GET', `/v1/tokens?q=acme%20reader`);
      t.equal(view.items[0].organization, 'acme');
      t.equal(await status(`${h.proxy}/v1/repositories/a1/query`, reader), 200);
      t.equal(await status(`${h.proxy}/v1/repositories/g1/query`, reader), 403, 'another organization');
      t.equal(await status(`${h.proxy}/v1/repositories/sensors/query`, reader), 403, 'default is another organization');
      t.equal(await status(`${h.proxy}/v1/repositories/a2/query`, reader), 403, 'not yet made');
      await ok('POST', '/v1/repositories', { name: 'a2', organization: 'acme' });
      t.equal(await status(`${h.proxy}/v1/repositories/a2/query`, reader), 200, 'made later, reached at once');
    });

    t.test('a grant on @acme: a personal token reaches acme, and only what else its user holds', async (t) => {
      const personal = (await ok('POST', '/v1/tokens', { kind: 'personal', name: 'alice laptop', user: 'alice', rights: ['query', 'stream'] }))
        .secret as string;
      t.equal(await status(`${h.proxy}/v1/repositories/a1/query`, personal), 200);
      t.equal(await status(`${h.proxy}/v1/repositories/g1/query`, personal), 200, 'granted g1 by name');
      t.equal(await status(`${h.proxy}/v1/repositories/billing/query`, personal), 403);
      await ok('PATCH', '/v1/users/alice', { grants: { g1: ['query'], sensors: ['stream'] } });
      t.equal(await status(`${h.proxy}/v1/repositories/a1/query`, personal), 403, 'the @acme grant taken away');
      await ok('PATCH', '/v1/users/alice', { grants: { '@acme': ['query'], g1: ['query'], sensors: ['stream'] } });
    });

    t.test('an admin of @acme administers acme and sees nothing outside it', async (t) => {
      const tokens = await ok('GET', '/v1/tokens?limit=500', undefined, acmeAdmin);
      t.ok(tokens.items.length > 0);
      t.ok(
        tokens.items.every((tk: { organization: string | null }) => tk.organization === 'acme'),
        'only acme tokens',
      );
      t.same(
        (await ok('GET', '/v1/repositories', undefined, acmeAdmin)).items.map((r: { name: string }) => r.name),
        ['a1', 'a2'],
      );
      t.same(
        (await ok('GET', '/v1/organizations', undefined, acmeAdmin)).items.map((o: { name: string }) => o.name),
        ['acme'],
      );
      t.equal((await call(h, 'GET', '/v1/organizations/globex', acmeAdmin)).status, 404, 'another organization reads as none');
      t.equal((await call(h, 'PATCH', '/v1/organizations/globex', acmeAdmin, { displayName: 'x' })).status, 404);
      t.equal((await call(h, 'PATCH', '/v1/organizations/acme', acmeAdmin, { displayName: 'Acme' })).status, 200);
      t.equal((await call(h, 'POST', '/v1/organizations', acmeAdmin, { name: 'mine' })).status, 403, 'only * makes organizations');
      t.equal((await call(h, 'DELETE', '/v1/organizations/acme', acmeAdmin)).status, 403);

      t.equal((await call(h, 'POST', '/v1/repositories', acmeAdmin, { name: 'a3', organization: 'acme' })).status, 201);
      t.equal((await call(h, 'POST', '/v1/repositories', acmeAdmin, { name: 'g2', organization: 'globex' })).status, 403);
      t.equal((await call(h, 'POST', '/v1/repositories', acmeAdmin, { name: 'd2' })).status, 403, 'default is not its organization');
      t.equal((await call(h, 'DELETE', '/v1/repositories/g1', acmeAdmin)).status, 403);
      t.equal((await call(h, 'DELETE', '/v1/repositories/a3', acmeAdmin)).status, 204);

      t.equal((await call(h, 'POST', '/v1/tokens', acmeAdmin, { kind: 'repository', name: 'a1 ingest', repository: 'a1', rights: ['query'] })).status, 201);
      t.equal((await call(h, 'POST', '/v1/tokens', acmeAdmin, { kind: 'repository', name: 'g1 ingest', repository: 'g1', rights: ['query'] })).status, 403);
      t.equal((await call(h, 'POST', '/v1/tokens', acmeAdmin, { kind: 'repository', name: 'all', repository: '*', rights: ['query'] })).status, 403);
      t.equal(
        (await call(h, 'POST', '/v1/tokens', acmeAdmin, { kind: 'repository', name: 'globex all', repository: '@globex', rights: ['query'] })).status,
        403,
      );
    });

    t.test('an admin of @acme keeps teams in acme, and changes only the grants users hold inside acme', async (t) => {
      const team = await call(h, 'POST', '/v1/teams', acmeAdmin, { name: 'acme-ops', organization: 'acme', members: ['alice'], grants: { a1: ['stream'] } });
      t.equal(team.status, 201);
      t.equal(team.body.organization, 'acme');
      t.equal((await call(h, 'POST', '/v1/teams', acmeAdmin, { name: 'default-ops', members: [], grants: {} })).status, 403, 'a team of default');
      const outside = await call(h, 'POST', '/v1/teams', star, { name: 'leaky', organization: 'acme', grants: { g1: ['query'] } });
      t.equal(outside.status, 400, 'a team of acme holds grants inside acme only');
      t.match(JSON.stringify(outside.body), /grants\.g1/);
      await ok('POST', '/v1/teams', { name: 'globex-ops', organization: 'globex', members: ['alice'], grants: { g1: ['stream'] } });
      t.same(
        (await ok('GET', '/v1/teams', undefined, acmeAdmin)).items.map((x: { name: string }) => x.name),
        ['acme-ops'],
      );
      t.equal((await call(h, 'GET', '/v1/teams/globex-ops', acmeAdmin)).status, 404);
      t.equal((await call(h, 'PATCH', '/v1/teams/globex-ops', acmeAdmin, { members: [] })).status, 404);
      t.same(
        (await ok('GET', '/v1/teams?organization=globex')).items.map((x: { name: string }) => x.name),
        ['globex-ops'],
      );

      const alice = await ok('GET', '/v1/users/alice', undefined, acmeAdmin);
      t.same(alice.grants, { '@acme': ['query'] }, 'only the grants inside acme');
      t.same(alice.teams, ['acme-ops']);
      t.equal((await call(h, 'PATCH', '/v1/users/alice', acmeAdmin, { grants: { g1: ['admin'] } })).status, 403);
      t.equal((await call(h, 'PATCH', '/v1/users/alice', acmeAdmin, { disabled: true })).status, 403);
      t.equal((await call(h, 'POST', '/v1/users', acmeAdmin, { name: 'mallory' })).status, 403);
      const changed = await call(h, 'PATCH', '/v1/users/alice', acmeAdmin, { grants: { a1: ['query', 'stream'] } });
      t.equal(changed.status, 200);
      t.same(changed.body.grants, { a1: ['query', 'stream'] });
      t.same((await ok('GET', '/v1/users/alice')).grants, { g1: ['query'], sensors: ['stream'], a1: ['query', 'stream'] }, 'the grants outside acme kept');
      t.same(
        (await ok('GET', '/v1/users?organization=globex')).items.map((u: { name: string }) => u.name),
        ['alice'],
      );
    });

    t.test('an organization is deleted only when empty; default never', async (t) => {
      await ok('POST', '/v1/organizations', { name: 'empty' });
      await ok('POST', '/v1/repositories', { name: 'e1', organization: 'empty' });
      const busy = await call(h, 'DELETE', '/v1/organizations/empty', star);
      t.equal(busy.status, 409);
      t.match(busy.body.detail, /repositories/);
      await ok('DELETE', '/v1/repositories/e1');
      t.equal((await call(h, 'DELETE', '/v1/organizations/empty', star)).status, 204);
      t.equal((await call(h, 'DELETE', '/v1/organizations/empty', star)).status, 404);
      t.equal((await call(h, 'DELETE', '/v1/organizations/default', star)).status, 409);
    });

    t.test('organization changes are events, filtered by organization', async (t) => {
      const events = await ok('GET', '/v1/events?organization=acme&limit=500');
      const types = new Set(events.items.map((e: { type: string }) => e.type));
      for (const type of ['organization.created', 'organization.edited', 'repository.created', 'token.created', 'team.created']) t.ok(types.has(type), type);
      t.notOk(
        events.items.some((e: { data: { organization?: string; name?: string } }) => e.data.organization === 'globex'),
        'none of globex',
      );
      const theirs = await ok('GET', '/v1/events?limit=500', undefined, acmeAdmin);
      t.ok(theirs.items.length > 0);
      t.notOk(
        theirs.items.some(
          (e: { type: string; data: { organization?: string; name?: string } }) =>
            e.data.organization === 'globex' || (e.type.startsWith('organization.') && e.data.name !== 'acme'),
        ),
        'an acme admin sees no globex event',
      );
      t.notOk(theirs.items.some((e: { type: string }) => e.type.startsWith('user.')));
    });
  });
}
