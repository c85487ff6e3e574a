import fc from 'fast-check';
import t from 'tap';
import { callerOf } from '../../src/admin/caller.js';
import { AdminError } from '../../src/admin/errors.js';
import { Invalidator } from '../../src/admin/invalidator.js';
import { routeRefusal, TOKEN_VIEW_ACTIONS, type TokenViewAction } from '../../src/admin/policy.js';
import { TokenService } from '../../src/admin/token-service.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { type Grants, RIGHTS, type Right, type TokenRecord } from '../../src/tokens/record.js';
import { FakeClock } from '../helpers/fakes.js';
import { grantsOver } from '../helpers/policy-worlds.js';
import { makeToken } from '../helpers/records.js';

// A token view's `actions` (docs/admin-api.md): over generated worlds of callers and tokens, an
// action is listed for a caller on a token exactly when the service carries it out, each tried
// alone on a fresh copy of the world. The route's own gate (policy.ts routeRefusal) is asked
// too, as the server asks it before the service.
//
// To replay a counterexample: TG_PROPERTY_SEED=<seed> TG_PROPERTY_PATH=<path> npx tap test/admin/token-actions.property.test.ts

const REPOS = ['sensors', 'billing'] as const;
const SCOPES = [...REPOS, '*'] as const;
const USERS = ['alice', 'bob'] as const;
const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;

const rightsArb = fc.subarray([...RIGHTS], { minLength: 1 });
const grantsArb = grantsOver(SCOPES);
const tokenArb = fc.record({
  kind: fc.constantFrom('repository' as const, 'personal' as const),
  repository: fc.constantFrom(...SCOPES),
  user: fc.constantFrom(...USERS),
  /** Often every right, so admins (callers with reach) are common. */
  rights: fc.oneof(rightsArb, fc.constant<Right[]>([...RIGHTS])),
  revoked: fc.boolean(),
  expiresInHours: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
  /** Lent by an earlier token of the world (index mod the tokens before it). */
  parent: fc.option(fc.nat(), { nil: null, freq: 2 }),
  /** Rolled into another token of the world and in its overlap. */
  rolled: fc.boolean(),
  selfRotate: fc.boolean(),
});
const worldArb = fc.record({
  grants: fc.tuple(grantsArb, grantsArb),
  tokens: fc.array(tokenArb, { minLength: 1, maxLength: 6 }),
  /** Hours passed after the world was made: some tokens have expired. */
  laterHours: fc.integer({ min: 0, max: 4 }),
  /** A revoked maker's line is revoked with it, but not always (a store from before lines were revoked). */
  keepsLines: fc.boolean(),
});

interface World {
  records: TokenRecord[];
  grants: Grants[];
}

/** A store holding the world as it is, so each action is tried alone. */
async function storeOf(world: World): Promise<MemoryStore> {
  const store = new MemoryStore();
  for (const name of REPOS) await store.createRepository({ name, createdAt: NOW, createdBy: 'test' });
  for (const [i, name] of USERS.entries()) await store.putUser({ name, grants: world.grants[i]!, createdAt: NOW, updatedAt: NOW });
  for (const record of world.records) await store.createToken(structuredClone(record), { at: NOW, actor: 'test', action: 'created', changes: {} });
  return store;
}

function serviceOf(store: MemoryStore, clock: FakeClock): TokenService {
  const invalidator = new Invalidator({ apply: () => undefined }, store);
  return new TokenService({ store, clock, invalidator, connectUri: 'tollgate://{host}?token={secret}' });
}

/** Does `action` to `target` as `caller`; true when the service carries it out, false on a refusal. */
async function tries(world: World, clock: FakeClock, callerId: string, target: string, action: TokenViewAction): Promise<boolean> {
  const store = await storeOf(world);
  const tokens = serviceOf(store, clock);
  const caller = await callerIn(store, callerId);
  if (routeRefusal(caller, { action }) !== undefined) return false;
  try {
    switch (action) {
      case 'edit':
        // A rename passes wherever any edit does: it is judged by reach alone.
        await tokens.edit(caller, target, { name: 'renamed by the property' });
        break;
      case 'roll':
        await tokens.roll(caller, target, HOUR, 'localhost');
        break;
      case 'revoke':
        await tokens.revoke(caller, target);
        break;
      case 'restore':
        await tokens.restore(caller, target);
        break;
      case 'delete':
        await tokens.remove(caller, target);
        break;
    }
    return true;
  } catch (err) {
    if (!(err instanceof AdminError)) throw err; // a crash, not a refusal
    return false;
  }
}

async function callerIn(store: MemoryStore, id: string) {
  const record = (await store.getToken(id))!;
  const grants = record.kind === 'personal' ? ((await store.getUser(record.user!))?.grants ?? {}) : null;
  return callerOf({ record, grants });
}

t.test('a token view lists an action exactly when the server carries it out for that caller', async (t) => {
  let pairs = 0;
  const listed = new Map<TokenViewAction, number>(TOKEN_VIEW_ACTIONS.map((action) => [action, 0]));
  await fc.assert(
    fc.asyncProperty(worldArb, async (spec) => {
      const records: TokenRecord[] = [];
      for (const token of spec.tokens) {
        const parent = token.parent === null || records.length === 0 ? undefined : records[token.parent % records.length]!;
        let expiresAt = token.expiresInHours === null ? null : NOW + token.expiresInHours * HOUR;
        if (parent?.expiresAt != null && (expiresAt === null || expiresAt > parent.expiresAt)) expiresAt = parent.expiresAt;
        const revoked = token.revoked || (spec.keepsLines && parent?.status === 'revoked');
        const { record } = makeToken({
          kind: token.kind,
          repository: token.repository,
          user: token.kind === 'personal' ? token.user : null,
          rights: token.rights,
          status: revoked ? 'revoked' : 'active',
          revokedAt: revoked ? NOW : null,
          expiresAt,
          parentId: parent?.id ?? null,
          ...(parent === undefined ? {} : { lent: true }),
          ...(token.selfRotate ? { selfRotate: true } : {}),
          name: `token ${records.length}`,
          createdAt: NOW,
          updatedAt: NOW,
        });
        records.push(record);
      }
      // Rolled into the next token of the world (or the first), still in its overlap.
      for (const [i, token] of spec.tokens.entries()) {
        if (token.rolled && records.length > 1) records[i]!.rolledTo = records[(i + 1) % records.length]!.id;
      }
      const world: World = { records, grants: [...spec.grants] };
      const clock = new FakeClock(NOW + spec.laterHours * HOUR);
      const store = await storeOf(world);
      const tokens = serviceOf(store, clock);
      for (const me of records) {
        // Only a token that still works calls the API (an ended one is refused with 401 before any of this).
        if (me.status === 'revoked' || (me.expiresAt !== null && me.expiresAt <= clock.now())) continue;
        const caller = await callerIn(store, me.id);
        for (const target of records) {
          const view = await tokens.viewFor(caller, (await store.getToken(target.id))!);
          // Where the caller may read the token, the API's own answer carries the same list.
          const read = await tokens.get(caller, target.id).catch((err: unknown) => {
            if (err instanceof AdminError) return undefined;
            throw err;
          });
          if (read !== undefined && read.actions.join() !== view.actions.join()) throw new Error(`GET lists ${read.actions} but the view ${view.actions}`);
          for (const action of TOKEN_VIEW_ACTIONS) {
            const isListed = view.actions.includes(action);
            const isDone = await tries(world, clock, me.id, target.id, action);
            if (isListed !== isDone) {
              throw new Error(
                `${action} by ${me.kind}:${me.repository}:${me.user}:${me.rights}${me.lent ? ':lent' : ''} on ${target.kind}:${target.repository}:${target.status}${target.lent ? ':lent' : ''}${target.rolledTo ? ':rolled' : ''}: listed ${isListed}, carried out ${isDone}`,
              );
            }
            if (isListed) listed.set(action, listed.get(action)! + 1);
          }
          pairs++;
        }
      }
    }),
    { numRuns: 150 },
  );
  t.ok(pairs > 200, `checked ${pairs} caller and token pairs`);
  // Each action was listed somewhere, so "never listed, never done" is not all the property saw.
  for (const [action, count] of listed) t.ok(count > 0, `${action} was listed ${count} times`);
});
