import fc from 'fast-check';
import t from 'tap';
import { callerOf } from '../../src/admin/caller.js';
import { DirectoryService } from '../../src/admin/directory-service.js';
import { AdminError } from '../../src/admin/errors.js';
import { Invalidator } from '../../src/admin/invalidator.js';
import { TokenService } from '../../src/admin/token-service.js';
import { Limiter } from '../../src/limits/limiter.js';
import { compileLimits, type Limits } from '../../src/limits/limits.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { TokenStore } from '../../src/store/token-store.js';
import { type Grants, RIGHTS, type Right, type TokenRecord } from '../../src/tokens/record.js';
import { FakeClock } from '../helpers/fakes.js';
import { grantsOver } from '../helpers/policy-worlds.js';
import { makeToken } from '../helpers/records.js';

// The admin policy's invariants (issue #13), checked over generated worlds and action sequences
// on the service layer. The model below is written from the spec, not from src/admin/policy.ts:
// - no action touches a token outside the caller's scope, except to revoke or shorten the tokens
//   made by one it revoked, deleted or shortened;
// - no token an action creates, edits or restores holds rights anywhere beyond the caller's own;
// - a token made by an admin that is not lent is independent (no maker, outlives it); one made by
//   self-service, by a lent token or with `lend` is lent: bound to its maker, expiring no later
//   and revoked when it is revoked or gone;
// - nothing a lent token does survives its maker: what it makes, rolls, restores, lengthens or
//   widens is itself or lent down from it;
// - no action multiplies a budget: a lent token's limits are within its maker's, an independent
//   one's within its repository's defaults unless a `*` admin made it, a roll keeps the budget,
//   and a whole line (every token spending from one budget) is admitted no more than its limit;
// - a revocation is undone only by a restore;
// - only a token with selfRotate rolls itself without admin reach; a roll of itself is the one
//   change a token makes to itself beyond its reach, and no token sets its own selfRotate or
//   allowFrom (allowFrom never widens anything; an edit of it is an access change that evicts
//   the token from every cache);
// - no action widens what the caller itself may do;
// - nothing but a refusal (AdminError) comes out: no TypeError, whatever the names.
//
// To replay a counterexample: TG_PROPERTY_SEED=<seed> TG_PROPERTY_PATH=<path> npx tap test/admin/policy.property.test.ts

const REPOS = ['sensors', 'billing', 'constructor'] as const;
const SCOPES = [...REPOS, '*'] as const;
const USERS = ['alice', 'bob', 'tostring'] as const;
const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;

const rightsArb = fc.subarray([...RIGHTS], { minLength: 1 });
/** Small limits, so a line's whole budget is spent within a world. */
const limitsArb: fc.Arbitrary<Limits> = fc.record(
  {
    rate: fc.record({ requests: fc.integer({ min: 1, max: 6 }), per: fc.constantFrom('1m', '1h') }),
    streams: fc.integer({ min: 1, max: 3 }),
  },
  { requiredKeys: [] },
);
const grantsArb = grantsOver(SCOPES);
const tokenArb = fc.record({
  kind: fc.constantFrom('repository' as const, 'personal' as const),
  repository: fc.constantFrom(...SCOPES),
  user: fc.constantFrom(...USERS),
  rights: rightsArb,
  revoked: fc.boolean(),
  expiresInHours: fc.option(fc.integer({ min: 1, max: 100 }), { nil: null }),
  /** Made by an earlier token of the world (index mod the tokens before it), so parent lines exist from the start. */
  parent: fc.option(fc.nat(), { nil: null, freq: 2 }),
  /** With a parent: lent by it, or (a store written before lent tokens) naming it without `lent`: independent. */
  link: fc.constantFrom('lent' as const, 'legacy' as const),
  limits: fc.option(limitsArb, { nil: undefined, freq: 2 }),
  selfRotate: fc.boolean(),
  allowFrom: fc.option(fc.constantFrom(['10.0.0.0/8'], ['127.0.0.1/32', '::1']), { nil: undefined }),
});
const allowFromArb = fc.constantFrom([], ['10.0.0.0/8'], ['127.0.0.0/8', '::1/128']);
const actionArb = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    kind: fc.constantFrom('repository' as const, 'personal' as const),
    repository: fc.constantFrom(...SCOPES),
    user: fc.constantFrom(...USERS),
    rights: rightsArb,
    expiresIn: fc.option(fc.constantFrom('1h', '50h', '500h'), { nil: undefined }),
    lend: fc.boolean(),
    limits: fc.option(limitsArb, { nil: undefined, freq: 2 }),
  }),
  fc.record({ op: fc.constant('roll' as const), target: fc.nat(), overlap: fc.constantFrom(0, HOUR) }),
  fc.record({
    op: fc.constant('edit' as const),
    target: fc.nat(),
    rights: fc.option(rightsArb, { nil: undefined }),
    expiry: fc.option(fc.constantFrom('never', '1h', '500h'), { nil: undefined }),
    name: fc.option(fc.constantFrom('renamed', 'constructor'), { nil: undefined }),
    limits: fc.option(fc.option(limitsArb, { nil: null }), { nil: undefined, freq: 3 }),
    selfRotate: fc.option(fc.boolean(), { nil: undefined, freq: 3 }),
    allowFrom: fc.option(allowFromArb, { nil: undefined, freq: 3 }),
  }),
  fc.record({ op: fc.constantFrom('revoke' as const, 'restore' as const, 'delete' as const, 'read' as const, 'history' as const), target: fc.nat() }),
  fc.record({ op: fc.constant('bulk-delete' as const), targets: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constant('list' as const) }),
  fc.record({ op: fc.constantFrom('grants' as const, 'read-user' as const, 'delete-user' as const), user: fc.constantFrom(...USERS), grants: grantsArb }),
  fc.record({ op: fc.constant('team' as const), team: fc.constantFrom('ops', 'constructor'), members: fc.subarray([...USERS]), grants: grantsArb }),
  fc.record({ op: fc.constant('delete-team' as const), team: fc.constantFrom('ops', 'constructor') }),
);
const stepArb = fc.record({ caller: fc.nat(), action: actionArb, advanceHours: fc.integer({ min: 0, max: 3 }) });
const worldArb = fc.record({
  grants: fc.tuple(grantsArb, grantsArb, grantsArb),
  /** Often makes alice an admin of everything, so personal `*` admins (the widest personal callers) are common. */
  aliceIsStarAdmin: fc.boolean(),
  /** A personal `*` token for alice with every right, first in the world. */
  alicePersonalStar: fc.boolean(),
  /** A `*` admin with every right and a token it lent with every right, first in the world: lent callers that reach everything. */
  lentStar: fc.boolean(),
  tokens: fc.array(tokenArb, { minLength: 1, maxLength: 7 }),
  /** Default limits per repository (REPOS order). */
  defaults: fc.tuple(...REPOS.map(() => fc.option(limitsArb, { nil: undefined, freq: 2 }))),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 6 }),
});

/** Each user's grants: their own ∪ their teams' (docs/tokens.md), merged here independently of src. */
type Users = Map<string, Grants>;
async function usersOf(store: TokenStore): Promise<Users> {
  const teams = await store.listTeams();
  const out: Users = new Map();
  for (const user of await store.listUsers()) {
    const merged: Record<string, Set<Right>> = Object.create(null);
    for (const grants of [user.grants, ...teams.filter((team) => team.members.includes(user.name)).map((team) => team.grants)]) {
      for (const [scope, rights] of Object.entries(grants)) {
        merged[scope] ??= new Set();
        const set = merged[scope];
        for (const right of rights) set.add(right);
      }
    }
    out.set(user.name, Object.fromEntries(Object.entries(merged).map(([scope, rights]) => [scope, [...rights]])));
  }
  return out;
}
const own = (grants: Grants, scope: string): readonly Right[] => (Object.hasOwn(grants, scope) ? grants[scope]! : []);
const covers = (scope: string, repository: string) => scope === '*' || scope === repository;
const isActive = (r: TokenRecord, now: number) => r.status === 'active' && (r.expiresAt === null || r.expiresAt > now);

/** What a token may do on `scope` (a repository, or `*` for every one), per docs/tokens.md. */
function effective(r: TokenRecord, users: Users, scope: string, now: number): Set<Right> {
  if (!isActive(r, now) || !covers(r.repository, scope)) return new Set();
  if (r.kind === 'repository') return new Set(r.rights);
  const grants = users.get(r.user!) ?? {};
  const granted = new Set([...own(grants, '*'), ...(scope === '*' ? [] : own(grants, scope))]);
  return new Set(r.rights.filter((right) => granted.has(right)));
}

/** Whether the caller may touch `target` at all: a `*` admin, an admin of its repository, or the same user within the caller's repository. */
function inScope(caller: TokenRecord, target: Pick<TokenRecord, 'kind' | 'repository' | 'user'>, users: Users, now: number): boolean {
  if (effective(caller, users, '*', now).has('admin')) return true;
  if (target.repository !== '*' && effective(caller, users, target.repository, now).has('admin')) return true;
  return caller.kind === 'personal' && target.kind === 'personal' && target.user === caller.user && covers(caller.repository, target.repository);
}

const subset = (a: Set<Right>, b: Set<Right>) => [...a].every((right) => b.has(right));

const isLentRecord = (r: Pick<TokenRecord, 'lent'>) => r.lent === true;
const budgetOf = (r: Pick<TokenRecord, 'id' | 'budgetId'>) => r.budgetId ?? r.id;
const hasAny = (limits: Limits | null | undefined): limits is Limits => limits != null && (limits.rate !== undefined || limits.streams !== undefined);

/** A lent token's makers in `tokens`, nearest first (empty for an independent one). */
function makersIn(tokens: ReadonlyMap<string, TokenRecord>, r: TokenRecord): TokenRecord[] {
  const makers: TokenRecord[] = [];
  for (let at: TokenRecord | undefined = r; at !== undefined && isLentRecord(at) && at.parentId !== null && makers.length < 64; ) {
    at = tokens.get(at.parentId);
    if (at !== undefined) makers.push(at);
  }
  return makers;
}

/** Per millisecond, so windows of different lengths compare (docs/tokens.md's rule). */
const ratePerMs = (rate: NonNullable<Limits['rate']>) => rate.requests / compileLimits({ rate }).rate!.perMs;

/** Whether `limits` stay within `bound`: each limit it sets no looser; with `mustSet`, each of the bound's set too. */
function within(limits: Limits | null | undefined, bound: Limits | undefined, mustSet: boolean): boolean {
  if (!hasAny(limits) || bound === undefined) return true;
  if (bound.rate !== undefined) {
    if (limits.rate === undefined ? mustSet : ratePerMs(limits.rate) > ratePerMs(bound.rate)) return false;
  }
  if (bound.streams !== undefined) {
    if (limits.streams === undefined ? mustSet : limits.streams > bound.streams) return false;
  }
  return true;
}

t.test('the admin policy holds its invariants over generated worlds and action sequences', async (t) => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(worldArb, async (world) => {
      runs++;
      const clock = new FakeClock(NOW);
      const store = new MemoryStore();
      // Every eviction the service publishes, so a change of access can be checked to evict.
      const evicted: string[] = [];
      const invalidator = new Invalidator(
        { apply: (message) => void (message.type === 'tokens' ? evicted.push(...message.ids) : message.type === 'all' ? evicted.push('*') : undefined) },
        store,
      );
      const tokens = new TokenService({ store, clock, invalidator, connectUri: 'tollgate://{host}?token={secret}' });
      const directory = new DirectoryService({ store, clock, tokens, invalidator });
      const defaults = new Map<string, Limits>();
      for (const [i, name] of REPOS.entries()) {
        const limits = world.defaults[i];
        if (limits !== undefined && hasAny(limits)) defaults.set(name, limits);
        await store.createRepository({ name, createdAt: NOW, createdBy: 'test', ...(limits === undefined ? {} : { limits }) });
      }
      const limitsOf = (r: TokenRecord) => (hasAny(r.limits) ? r.limits : defaults.get(r.repository));
      for (const [i, name] of USERS.entries()) {
        const grants = { ...world.grants[i]! };
        if (i === 0 && world.aliceIsStarAdmin) grants['*'] = ['admin', 'query'];
        await store.putUser({ name, grants, createdAt: NOW, updatedAt: NOW });
      }
      const aliceStar = {
        kind: 'personal' as const,
        repository: '*' as const,
        user: 'alice' as const,
        rights: [...RIGHTS],
        revoked: false,
        expiresInHours: null,
        parent: null,
        link: 'lent' as const,
        limits: undefined,
        selfRotate: false,
        allowFrom: undefined,
      };
      const star = { ...aliceStar, kind: 'repository' as const };
      const lentStar = [star, { ...star, parent: 0 }];
      const specs = [...(world.lentStar ? lentStar : []), ...(world.alicePersonalStar ? [aliceStar] : []), ...world.tokens];
      const made: TokenRecord[] = [];
      // Ids are random (hashes of random secrets): order tokens by when they were made, so a seed
      // replays the same world and a counterexample reproduces.
      const order = new Map<string, number>();
      for (const spec of specs) {
        const named = spec.parent === null || made.length === 0 ? undefined : made[spec.parent % made.length]!;
        // A legacy token names its maker but is independent: nothing binds it.
        const parent = spec.link === 'lent' ? named : undefined;
        let expiresAt = spec.expiresInHours === null ? null : NOW + spec.expiresInHours * HOUR;
        if (parent?.expiresAt != null && (expiresAt === null || expiresAt > parent.expiresAt)) expiresAt = parent.expiresAt;
        const { record } = makeToken({
          kind: spec.kind,
          repository: spec.repository,
          user: spec.kind === 'personal' ? spec.user : null,
          rights: spec.rights,
          status: spec.revoked || parent?.status === 'revoked' ? 'revoked' : 'active',
          expiresAt,
          parentId: named?.id ?? null,
          ...(parent === undefined ? {} : { lent: true }),
          ...(spec.limits === undefined ? {} : { limits: spec.limits }),
          ...(spec.selfRotate ? { selfRotate: true } : {}),
          ...(spec.allowFrom === undefined ? {} : { allowFrom: [...spec.allowFrom] }),
          // Names are unique per scope: one of its own (a store may hold duplicates; these worlds do not).
          name: `token ${made.length}`,
        });
        made.push(record);
        order.set(record.id, order.size);
        await store.createToken(record, { at: NOW, actor: 'test', action: 'created', changes: {} });
      }

      for (const step of world.steps) {
        clock.advance(step.advanceHours * HOUR);
        const now = clock.now();
        const before = new Map((await store.getTokens([...(await store.listTokens())].map((r) => r.id))).map((r) => [r!.id, structuredClone(r!)]));
        evicted.length = 0;
        const users = await usersOf(store);
        const all = [...before.values()].sort((a, b) => order.get(a.id)! - order.get(b.id)!);
        const live = all.filter((r) => isActive(r, now));
        if (live.length === 0) return;
        const me = live[step.caller % live.length]!;
        const identity = { record: structuredClone(me), grants: me.kind === 'personal' ? (users.get(me.user!) ?? {}) : null };
        const caller = callerOf(identity);
        const pick = (n: number) => all[n % all.length]!;
        const action = step.action;
        let seen: Array<Pick<TokenRecord, 'id' | 'kind' | 'repository' | 'user'>> = [];
        let createdId: string | undefined;
        let rolled: { from: TokenRecord; to: string } | undefined;
        let result: 'ok' | 'refused' = 'ok';
        try {
          switch (action.op) {
            case 'create': {
              const body = {
                kind: action.kind,
                name: `made ${order.size}`,
                repository: action.repository,
                rights: action.rights,
                ...(action.kind === 'personal' ? { user: action.user } : {}),
                ...(action.expiresIn ? { expiresIn: action.expiresIn } : {}),
                ...(action.lend ? { lend: true } : {}),
                ...(action.limits ? { limits: action.limits } : {}),
              };
              createdId = (await tokens.create(caller, body, 'localhost')).token.id;
              order.set(createdId, order.size);
              break;
            }
            case 'edit': {
              const body = {
                ...(action.rights ? { rights: action.rights } : {}),
                ...(action.name ? { name: action.name } : {}),
                ...(action.expiry === 'never' ? { expiresAt: null } : action.expiry ? { expiresIn: action.expiry } : {}),
                ...(action.limits !== undefined ? { limits: action.limits } : {}),
                ...(action.selfRotate !== undefined ? { selfRotate: action.selfRotate } : {}),
                ...(action.allowFrom !== undefined ? { allowFrom: [...action.allowFrom] } : {}),
              };
              if (Object.keys(body).length > 0) await tokens.edit(caller, pick(action.target).id, body);
              break;
            }
            case 'revoke':
              await tokens.revoke(caller, pick(action.target).id);
              break;
            case 'roll': {
              const from = pick(action.target);
              const to = (await tokens.roll(caller, from.id, action.overlap, 'localhost')).token.id;
              order.set(to, order.size);
              rolled = { from, to };
              break;
            }
            case 'restore':
              await tokens.restore(caller, pick(action.target).id);
              break;
            case 'delete':
              await tokens.remove(caller, pick(action.target).id);
              break;
            case 'bulk-delete':
              await tokens.removeMany(
                caller,
                action.targets.map((n) => pick(n).id),
              );
              break;
            case 'read':
              seen = [await tokens.get(caller, pick(action.target).id)];
              break;
            case 'history':
              await tokens.history(caller, pick(action.target).id);
              seen = [pick(action.target)];
              break;
            case 'list':
              seen = (await tokens.list(caller, { sort: [{ field: 'name', descending: false }], limit: 500 })).items;
              break;
            case 'grants':
              await directory.setGrants(caller, action.user, action.grants);
              break;
            case 'read-user':
              await directory.getUser(caller, action.user);
              break;
            case 'delete-user':
              await directory.deleteUser(caller, action.user);
              break;
            case 'team':
              if (await store.getTeam(action.team)) await directory.editTeam(caller, action.team, { members: action.members, grants: action.grants });
              else await directory.createTeam(caller, action.team, action.members, action.grants);
              break;
            case 'delete-team':
              await directory.deleteTeam(caller, action.team);
              break;
          }
        } catch (err) {
          if (!(err instanceof AdminError)) throw err; // a crash, not a refusal
          result = 'refused';
        }

        const after = new Map((await store.getTokens([...(await store.listTokens())].map((r) => r.id))).map((r) => [r!.id, structuredClone(r!)]));
        const usersAfter = await usersOf(store);
        const where = `${JSON.stringify(action)} by ${me.kind}:${me.repository}:${me.user}:${me.rights} (${result})`;

        // Reads show only what is in scope.
        for (const item of seen) if (!inScope(me, item, users, now)) throw new Error(`${where}: showed ${item.id} out of scope`);

        // Users' grants (own ∪ teams') change only at a `*` admin's hand that is not lent, and never widen its own user's.
        for (const name of USERS) {
          const changed = JSON.stringify(users.get(name)) !== JSON.stringify(usersAfter.get(name));
          if (changed && (!effective(me, users, '*', now).has('admin') || isLentRecord(me))) throw new Error(`${where}: changed ${name}'s grants`);
          if (me.kind === 'personal' && me.user === name && usersAfter.has(name)) {
            const before = users.get(name) ?? {};
            const after = usersAfter.get(name) ?? {};
            for (const scope of Object.keys(after)) {
              if (!subset(new Set(own(after, scope)), new Set(own(before, scope)))) throw new Error(`${where}: widened its own user's grants on ${scope}`);
            }
          }
        }

        // selfRotate: a roll out of reach is the caller's own, and only when it says so.
        const rollsItself = rolled !== undefined && rolled.from.id === me.id && me.selfRotate === true;
        if (rolled !== undefined && !inScope(me, rolled.from, users, now) && !rollsItself)
          throw new Error(`${where}: rolled ${rolled.from.id} out of reach without selfRotate`);
        if (rolled !== undefined && rolled.from.id === me.id && !me.selfRotate && !inScope(me, me, users, now))
          throw new Error(`${where}: rolled itself without selfRotate`);

        // No token sets its own selfRotate or allowFrom; what it rolls into carries both unchanged.
        const meNow = after.get(me.id);
        if (meNow && ((meNow.selfRotate === true) !== (me.selfRotate === true) || (meNow.allowFrom ?? []).join() !== (me.allowFrom ?? []).join())) {
          throw new Error(`${where}: the caller changed its own selfRotate or allowFrom`);
        }
        if (rolled !== undefined) {
          const to = after.get(rolled.to)!;
          if ((to.selfRotate === true) !== (rolled.from.selfRotate === true) || (to.allowFrom ?? []).join() !== (rolled.from.allowFrom ?? []).join())
            throw new Error(`${where}: a roll changed selfRotate or allowFrom`);
        }

        // An edit of allowFrom or selfRotate is a change of access: the token is evicted from every cache.
        for (const [id, next] of after) {
          const old = before.get(id);
          if (old === undefined) continue;
          const changed = (next.allowFrom ?? []).join() !== (old.allowFrom ?? []).join() || (next.selfRotate === true) !== (old.selfRotate === true);
          if (changed && !evicted.includes(id) && !evicted.includes('*'))
            throw new Error(`${where}: changed ${id}'s allowFrom or selfRotate without evicting it`);
          if (changed && !inScope(me, old, users, now)) throw new Error(`${where}: changed ${id}'s allowFrom or selfRotate out of scope`);
        }

        // Changes outside scope only ever reduce access, and only down a parent line.
        for (const [id, old] of before) {
          const next = after.get(id);
          if (next !== undefined && next.version === old.version) continue;
          if (inScope(me, old, users, now)) continue;
          // Its own selfRotate roll: the old secret ends (at once or after the overlap), checked above.
          if (rollsItself && id === me.id) continue;
          const reduced =
            next === undefined
              ? false
              : (next.status === 'revoked' && old.status === 'active' && next.rights.join() === old.rights.join()) ||
                (next.expiresAt !== null && (old.expiresAt === null || next.expiresAt < old.expiresAt) && next.status === old.status);
          const userGone = !usersAfter.has(old.user ?? '') && old.kind === 'personal';
          if (!reduced || (!isLentRecord(old) && !userGone)) throw new Error(`${where}: changed ${id} out of scope`);
        }

        // A revocation is undone only by a restore.
        if (action.op !== 'restore') {
          for (const [id, old] of before) if (old.status === 'revoked' && after.get(id)?.status === 'active') throw new Error(`${where}: un-revoked ${id}`);
        }

        // What was made, edited or restored holds nothing beyond the caller, anywhere.
        for (const [id, next] of after) {
          const old = before.get(id);
          const widened = old === undefined || (isActive(next, now) && (!isActive(old, now) || next.rights.join() !== old.rights.join()));
          if (!widened) continue;
          for (const scope of SCOPES) {
            const mine = effective(me, users, scope, now);
            if (!subset(effective(next, usersAfter, scope, now), mine)) throw new Error(`${where}: ${id} holds more than the caller on ${scope}`);
          }
        }

        // The caller widened nothing of its own.
        const meAfter = after.get(me.id);
        if (meAfter) {
          for (const scope of SCOPES) {
            if (!subset(effective(meAfter, usersAfter, scope, now), effective(me, users, scope, now)))
              throw new Error(`${where}: caller widened itself on ${scope}`);
          }
          if (me.expiresAt !== null && (meAfter.expiresAt === null || meAfter.expiresAt > me.expiresAt)) throw new Error(`${where}: caller extended itself`);
        }

        // What a token makes is lent (bound to it) when asked, by self-service or by a lent token; else independent.
        if (createdId !== undefined) {
          const made = after.get(createdId)!;
          const selfService = me.kind === 'personal' && !me.rights.includes('admin');
          const lent = (action.op === 'create' && action.lend) || selfService || isLentRecord(me);
          if (lent && !(isLentRecord(made) && made.parentId === me.id)) throw new Error(`${where}: made a token that should be lent by the caller`);
          if (!lent && (isLentRecord(made) || made.parentId !== null)) throw new Error(`${where}: made a token bound to its maker that should be independent`);
        }

        // Nothing a lent token does survives its maker: what it hands out (made, rolled into,
        // restored, lengthened, widened) is itself or lent down from it.
        if (isLentRecord(me)) {
          for (const [id, next] of after) {
            const old = before.get(id);
            if (!isActive(next, now)) continue;
            const handedOut =
              old === undefined ||
              !isActive(old, now) ||
              (old.expiresAt !== null && (next.expiresAt === null || next.expiresAt > old.expiresAt)) ||
              next.rights.some((right) => !old.rights.includes(right)) ||
              JSON.stringify(next.limits ?? null) !== JSON.stringify(old.limits ?? null);
            if (!handedOut || id === me.id) continue;
            const makers = makersIn(after, next).map((maker) => maker.id);
            // Its own roll is the one thing it hands out beside its line: bound to its own maker, as it was.
            const isOwnRoll = rolled?.from.id === me.id && rolled.to === id && makers[0] === me.parentId;
            if (!makers.includes(me.id) && !isOwnRoll) throw new Error(`${where}: lent caller handed out ${id}, which would survive it`);
          }
        }

        // No action multiplies a budget: a roll keeps the budget; new or changed limits stay within their ceiling.
        if (rolled !== undefined && budgetOf(after.get(rolled.to)!) !== budgetOf(rolled.from)) throw new Error(`${where}: a roll started a fresh budget`);
        for (const [id, next] of after) {
          const old = before.get(id);
          const isNew = old === undefined && id !== rolled?.to;
          const changedLimits = old !== undefined && JSON.stringify(next.limits ?? null) !== JSON.stringify(old.limits ?? null);
          if (!isNew && !changedLimits) continue;
          if (isLentRecord(next)) {
            const maker = after.get(next.parentId!) ?? before.get(next.parentId!);
            if (maker !== undefined && !within(next.limits, limitsOf(maker), false)) throw new Error(`${where}: ${id} has limits beyond its maker's`);
          } else if (!effective(me, users, '*', now).has('admin') && !within(next.limits, defaults.get(next.repository), true)) {
            throw new Error(`${where}: ${id} has limits beyond its repository's defaults`);
          }
        }

        // Parent lines: a lent token is no longer-lived than its maker, and never active once the maker is revoked or gone.
        for (const child of after.values()) {
          if (child.parentId === null || !isLentRecord(child)) continue;
          const parent = after.get(child.parentId);
          if ((parent === undefined || parent.status === 'revoked') && child.status === 'active')
            throw new Error(`${where}: child ${child.id} outlived its parent`);
          if (parent?.expiresAt != null && (child.expiresAt === null || child.expiresAt > parent.expiresAt))
            throw new Error(`${where}: child ${child.id} expires after its parent`);
        }
      }

      // No action multiplied a budget: every request of every active token, admitted through the
      // limiter with its lent line (read here from the records, not by src), until each refuses.
      // Tokens spending from one budget (its rolls and what was lent down from them) are
      // admitted no more than its rate in all.
      const now = clock.now();
      const final = new Map([...(await store.listTokens())].map((r) => [r.id, r as TokenRecord]));
      const limiter = new Limiter({ store, clock, logger: createLogger('silent') });
      limiter.setRepositoryDefaults(await store.listRepositories());
      const admitted = new Map<string, number>();
      const spentKey = (r: TokenRecord, rate: NonNullable<Limits['rate']>) => `${budgetOf(r)} ${rate.requests}/${rate.per}`;
      const live = [...final.values()].filter((r) => isActive(r, now));
      for (let round = 0, progress = true; progress && round < 20; round++) {
        progress = false;
        for (const r of live) {
          const makers = makersIn(final, r);
          const budget = limiter.budgetOfLine({ record: r, line: makers });
          if (budget === undefined) continue;
          const verdict = await limiter.admitTo(budget, now);
          if (typeof verdict === 'string') continue;
          verdict.streamEnded();
          progress = true;
          // Counted against every budget it spends from: its own and each maker's.
          for (const spender of [r, ...makers]) {
            const rate = limitsOf(spender)?.rate;
            if (rate !== undefined) admitted.set(spentKey(spender, rate), (admitted.get(spentKey(spender, rate)) ?? 0) + 1);
          }
        }
      }
      // Per budget and rate as they stand now (a rate edited since counts afresh in its own windows).
      for (const r of live) {
        const rate = limitsOf(r)?.rate;
        const spent = rate === undefined ? 0 : (admitted.get(spentKey(r, rate)) ?? 0);
        if (rate !== undefined && spent > rate.requests)
          throw new Error(`budget ${budgetOf(r)} of ${rate.requests}/${rate.per} admitted ${spent} requests across its line`);
      }
    }),
    {
      numRuns: Number(process.env.TG_PROPERTY_RUNS ?? 600),
      ...(process.env.TG_PROPERTY_SEED ? { seed: Number(process.env.TG_PROPERTY_SEED), path: process.env.TG_PROPERTY_PATH } : {}),
    },
  );
  t.equal(runs >= 600 || process.env.TG_PROPERTY_RUNS !== undefined || process.env.TG_PROPERTY_SEED !== undefined, true, `${runs} worlds checked`);
});
