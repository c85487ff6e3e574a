import fc from 'fast-check';
import t from 'tap';
import { type Caller, callerOf } from '../../src/admin/caller.js';
import { DirectoryService } from '../../src/admin/directory-service.js';
import { AdminError } from '../../src/admin/errors.js';
import { Invalidator } from '../../src/admin/invalidator.js';
import { OrganizationService } from '../../src/admin/organization-service.js';
import { TokenService } from '../../src/admin/token-service.js';
import { OrganizationMap } from '../../src/auth/organization-reach.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { combineGrants, type Grants, organizationOf, RIGHTS, type Right, tokenOrganization } from '../../src/tokens/record.js';
import { FakeClock } from '../helpers/fakes.js';
import { makeToken } from '../helpers/records.js';

// The organization admin's invariant (docs/organizations.md), over generated worlds and action
// sequences on the service layer: an admin of @acme neither reads nor changes anything outside
// acme. Outside acme means: tokens of another organization or on `*`, repositories, teams and
// organizations other than acme, and the grants users hold outside acme. Every read it gets
// back names acme only; nothing but a refusal (AdminError) comes out.
//
// To replay a counterexample: TG_PROPERTY_SEED=<seed> TG_PROPERTY_PATH=<path> npx tap test/admin/organization-policy.property.test.ts

const NOW = 1_800_000_000_000;
const REPOS = { a1: 'acme', a2: 'acme', g1: 'globex', sensors: 'default' } as const;
const KEYS = [...Object.keys(REPOS), '@acme', '@globex', '@default', '*'];
const SCOPES = KEYS;
const USERS = ['alice', 'bob', 'carol'] as const;
const TEAMS = ['ops', 'dev'] as const;
const ORGS = ['acme', 'globex', 'default'] as const;

const rightsArb = fc.subarray([...RIGHTS], { minLength: 1 });
const grantsArb: fc.Arbitrary<Grants> = fc
  .array(fc.tuple(fc.constantFrom(...KEYS), rightsArb), { maxLength: 3 })
  .map((pairs) => Object.fromEntries(pairs) as Grants);
const actionArb = fc.oneof(
  fc.record({
    op: fc.constant('create-token' as const),
    kind: fc.constantFrom('repository' as const, 'personal' as const),
    repository: fc.constantFrom(...SCOPES),
    user: fc.constantFrom(...USERS),
    rights: rightsArb,
  }),
  fc.record({
    op: fc.constantFrom('revoke' as const, 'restore' as const, 'delete' as const, 'read' as const, 'edit' as const, 'roll' as const),
    target: fc.nat(),
  }),
  fc.record({ op: fc.constant('list-tokens' as const), organization: fc.option(fc.constantFrom(...ORGS), { nil: undefined }) }),
  fc.record({ op: fc.constantFrom('grants' as const, 'read-user' as const), user: fc.constantFrom(...USERS), grants: grantsArb }),
  fc.record({ op: fc.constant('list-users' as const) }),
  fc.record({
    op: fc.constant('team' as const),
    team: fc.constantFrom(...TEAMS),
    organization: fc.constantFrom(...ORGS),
    members: fc.subarray([...USERS]),
    grants: grantsArb,
  }),
  fc.record({ op: fc.constantFrom('delete-team' as const, 'read-team' as const), team: fc.constantFrom(...TEAMS) }),
  fc.record({ op: fc.constant('list-teams' as const) }),
  fc.record({ op: fc.constant('create-repository' as const), name: fc.constantFrom('a3', 'g2', 'x1'), organization: fc.constantFrom(...ORGS) }),
  fc.record({ op: fc.constant('delete-repository' as const), name: fc.constantFrom(...Object.keys(REPOS), 'a3', 'g2') }),
  fc.record({ op: fc.constant('list-repositories' as const) }),
  fc.record({ op: fc.constantFrom('read-org' as const, 'edit-org' as const, 'delete-org' as const), organization: fc.constantFrom(...ORGS) }),
  fc.record({ op: fc.constant('list-orgs' as const) }),
);
const worldArb = fc.record({
  grants: fc.tuple(grantsArb, grantsArb, grantsArb),
  teams: fc.array(fc.record({ name: fc.constantFrom(...TEAMS), organization: fc.constantFrom(...ORGS), members: fc.subarray([...USERS]), grants: grantsArb }), {
    maxLength: 2,
  }),
  tokens: fc.array(
    fc.record({
      kind: fc.constantFrom('repository' as const, 'personal' as const),
      repository: fc.constantFrom(...SCOPES),
      user: fc.constantFrom(...USERS),
      rights: rightsArb,
      revoked: fc.boolean(),
    }),
    { maxLength: 6 },
  ),
  /** The caller: a repository token on @acme, or a personal token of carol, who holds admin on @acme. */
  callerIsPersonal: fc.boolean(),
  callerScope: fc.constantFrom('@acme', '*'),
  callerRights: rightsArb.map((rights): Right[] => [...new Set<Right>(['admin', ...rights])]),
  steps: fc.array(actionArb, { minLength: 1, maxLength: 8 }),
});

const insideAcme = (key: string, repos: ReadonlyMap<string, string>) => key === '@acme' || repos.get(key) === 'acme';

t.test('an admin of @acme reads and changes nothing outside acme', async (t) => {
  await fc.assert(
    fc.asyncProperty(worldArb, async (world) => {
      const store = new MemoryStore();
      const clock = new FakeClock(NOW);
      const invalidator = new Invalidator({ apply() {} }, store);
      const tokens = new TokenService({ store, clock, invalidator, connectUri: 'tollgate://{host}?token={secret}' });
      const directory = new DirectoryService({ store, clock, tokens, invalidator });
      const organizations = new OrganizationService({ store, clock });
      for (const org of ['acme', 'globex']) await store.createOrganization({ name: org, displayName: org, createdAt: NOW, createdBy: 'test', updatedAt: NOW });
      for (const [name, org] of Object.entries(REPOS))
        await store.createRepository({ name, createdAt: NOW, createdBy: 'test', ...(org === 'default' ? {} : { organization: org }) });
      for (const [i, name] of USERS.entries()) await store.putUser({ name, grants: { ...world.grants[i]! }, createdAt: NOW, updatedAt: NOW });
      // carol administers acme and nothing else: her other grants hold no admin.
      const carolGrants = Object.fromEntries(Object.entries(world.grants[2]!).map(([key, rights]) => [key, rights.filter((right) => right !== 'admin')]));
      await store.putUser({ name: 'carol', grants: { ...carolGrants, '@acme': [...RIGHTS] }, createdAt: NOW, updatedAt: NOW });
      for (const team of world.teams) {
        // No team hands carol admin outside acme either.
        const grants = Object.fromEntries(
          Object.entries(team.grants).map(([key, rights]) => [key, team.members.includes('carol') ? rights.filter((right) => right !== 'admin') : rights]),
        );
        await store.putTeam(
          { ...team, grants, ...(team.organization === 'default' ? {} : { organization: team.organization }), createdAt: NOW, updatedAt: NOW },
          { at: NOW, actor: 'test', action: 'created', changes: {} },
        );
      }
      const ids: string[] = [];
      for (const [i, spec] of world.tokens.entries()) {
        const org =
          spec.repository === '*' ? undefined : spec.repository.startsWith('@') ? spec.repository.slice(1) : REPOS[spec.repository as keyof typeof REPOS];
        const { record } = makeToken({
          kind: spec.kind,
          name: `t${i}`,
          repository: spec.repository,
          user: spec.kind === 'personal' ? spec.user : null,
          rights: spec.rights,
          status: spec.revoked ? 'revoked' : 'active',
          ...(org === undefined || org === 'default' ? {} : { organization: org }),
        });
        await store.createToken(record, { at: NOW, actor: 'test', action: 'created', changes: {} });
        ids.push(record.id);
      }
      const callerRecord = world.callerIsPersonal
        ? makeToken({ kind: 'personal', name: 'caller', user: 'carol', repository: world.callerScope, rights: world.callerRights }).record
        : makeToken({ kind: 'repository', name: 'caller', repository: '@acme', rights: world.callerRights, organization: 'acme' }).record;
      await store.createToken(callerRecord, { at: NOW, actor: 'test', action: 'created', changes: {} });

      /** The caller as the cache would resolve it now (its reach read again after every change, as an invalidation would). */
      const caller = async (): Promise<Caller> => {
        const user = callerRecord.user === null ? undefined : await store.getUser(callerRecord.user);
        const grants = user === undefined ? null : combineGrants(user.grants, await store.teamsOf(user.name));
        return callerOf(await new OrganizationMap(store).withOrganizations({ record: (await store.getToken(callerRecord.id)) ?? callerRecord, grants }));
      };
      // Every repository's organization as ever seen: a grant on a repository since deleted still belongs where it was.
      const known = new Map<string, string>();
      const repos = async () => {
        for (const repo of await store.listRepositories()) known.set(repo.name, organizationOf(repo));
        return known;
      };
      /** Everything outside acme, as JSON: what no action of the caller may change. */
      const outside = async () => {
        const where = await repos();
        const allTokens = await store.getTokens([...(await store.listTokens())].map((tk) => tk.id));
        return JSON.stringify({
          // The caller's own token and its own user's personal tokens aside: self-service on those
          // (ending itself, lending itself) is no organization admin's power and reaches nothing else.
          tokens: allTokens
            .filter(
              (tk) =>
                tk !== undefined &&
                tk.id !== callerRecord.id &&
                !(callerRecord.user !== null && tk.user === callerRecord.user) &&
                tokenOrganization(tk) !== 'acme',
            )
            .sort((a, b) => a!.id.localeCompare(b!.id)),
          repositories: (await store.listRepositories()).filter((repo) => organizationOf(repo) !== 'acme').sort((a, b) => a.name.localeCompare(b.name)),
          teams: (await store.listTeams()).filter((team) => organizationOf(team) !== 'acme').sort((a, b) => a.name.localeCompare(b.name)),
          organizations: (await store.listOrganizations()).filter((org) => org.name !== 'acme').sort((a, b) => a.name.localeCompare(b.name)),
          grants: (await store.listUsers())
            .map((user) => [
              user.name,
              Object.entries(user.grants)
                .filter(([key]) => !insideAcme(key, where))
                .sort(),
            ])
            .sort(),
        });
      };
      const onlyAcme = (what: string, items: ReadonlyArray<{ organization?: string | null; id?: string; user?: string | null }>) => {
        // Its own token, and personal tokens of its own user within it (self-service), are its own.
        const own = (item: { id?: string; user?: string | null }) =>
          item.id === callerRecord.id || (callerRecord.user !== null && item.user === callerRecord.user);
        for (const item of items) if (item.organization !== 'acme' && !own(item)) throw new Error(`${what} shows ${JSON.stringify(item)} outside acme`);
      };

      for (const step of world.steps) {
        const before = await outside();
        const c = await caller();
        try {
          switch (step.op) {
            case 'create-token':
              await tokens.create(
                c,
                {
                  kind: step.kind,
                  name: `made ${Math.random()}`,
                  repository: step.repository,
                  rights: step.rights,
                  ...(step.kind === 'personal' ? { user: step.user } : {}),
                } as never,
                'localhost',
              );
              break;
            case 'revoke':
            case 'restore':
            case 'delete':
            case 'read':
            case 'edit':
            case 'roll': {
              const id = ids[step.target % Math.max(ids.length, 1)] ?? callerRecord.id;
              if (step.op === 'revoke') await tokens.revoke(c, id);
              else if (step.op === 'restore') await tokens.restore(c, id);
              else if (step.op === 'delete') await tokens.remove(c, id);
              else if (step.op === 'edit') await tokens.edit(c, id, { name: 'renamed' } as never);
              else if (step.op === 'roll') await tokens.roll(c, id, 0, 'localhost');
              else onlyAcme('a token read', [await tokens.get(c, id)]);
              break;
            }
            case 'list-tokens':
              onlyAcme(
                'the token list',
                (await tokens.list(c, { sort: [], limit: 500, ...(step.organization ? { organization: step.organization } : {}) })).items,
              );
              break;
            case 'grants':
              await directory.editUser(c, step.user, { grants: step.grants });
              break;
            case 'read-user':
            case 'list-users': {
              const where = await repos();
              const users = step.op === 'read-user' ? [await directory.getUser(c, step.user)] : await directory.listUsers(c);
              for (const user of users) {
                if (c.identity.record.kind === 'personal' && user.name === c.identity.record.user) continue; // its own user, in full
                for (const key of Object.keys(user.grants)) if (!insideAcme(key, where)) throw new Error(`user ${user.name} shows grant ${key} outside acme`);
              }
              break;
            }
            case 'team': {
              const existing = await store.getTeam(step.team);
              if (existing) await directory.editTeam(c, step.team, { members: step.members, grants: step.grants });
              else await directory.createTeam(c, step.team, step.members, step.grants, step.organization);
              break;
            }
            case 'delete-team':
              await directory.deleteTeam(c, step.team);
              break;
            case 'read-team':
              onlyAcme('a team read', [await directory.getTeam(c, step.team)]);
              break;
            case 'list-teams':
              onlyAcme('the team list', await directory.listTeams(c));
              break;
            case 'create-repository':
              await directory.createRepository(c, step.name, step.organization);
              break;
            case 'delete-repository':
              await directory.deleteRepository(c, step.name);
              break;
            case 'list-repositories':
              onlyAcme('the repository list', await directory.listRepositories(c));
              break;
            case 'read-org':
              onlyAcme('an organization read', [{ organization: (await organizations.get(c, step.organization)).name }]);
              break;
            case 'edit-org':
              await organizations.edit(c, step.organization, 'renamed');
              break;
            case 'delete-org':
              await organizations.delete(c, step.organization);
              break;
            case 'list-orgs':
              onlyAcme(
                'the organization list',
                (await organizations.list(c)).map((org) => ({ organization: org.name })),
              );
              break;
          }
        } catch (err) {
          if (!(err instanceof AdminError)) throw err;
        }
        const after = await outside();
        if (after !== before) throw new Error(`${step.op} changed something outside acme:\n${before}\n${after}`);
      }
    }),
    {
      numRuns: Number(process.env.TG_PROPERTY_RUNS ?? 150),
      ...(process.env.TG_PROPERTY_SEED ? { seed: Number(process.env.TG_PROPERTY_SEED), path: process.env.TG_PROPERTY_PATH } : {}),
    },
  );
  t.pass('no counterexample');
});
