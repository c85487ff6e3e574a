import fc from 'fast-check';
import t from 'tap';
import { authorize } from '../../src/auth/authorize.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { isExpired, type TokenRecord } from '../../src/tokens/record.js';
import { hashSecret } from '../../src/tokens/secret.js';
import { FakeClock, RecordingObserver } from '../helpers/fakes.js';
import { entry, makeToken } from '../helpers/records.js';

// A loan never outlives its lender at the proxy (docs/tokens.md, "Independent and lent tokens"):
// over generated lines of lent tokens, all looked up once (cached), then changed in the store one
// token at a time, each change told to the cache for that token alone (as when a revoke's
// cascade to the loans failed), with time passing: a lent token the cache answers and authorize
// allows has every maker up its line active and unexpired in the store.
//
// To replay a counterexample: TG_PROPERTY_SEED=<seed> TG_PROPERTY_PATH=<path> npx tap test/auth/lent-line.property.test.ts

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

const changeArb = fc.record({
  token: fc.nat(),
  to: fc.constantFrom('revoked' as const, 'deleted' as const, 'restored' as const, 'expires' as const),
  laterHours: fc.integer({ min: 0, max: 3 }),
});
const worldArb = fc.record({
  tokens: fc.array(
    fc.record({
      maker: fc.option(fc.nat(), { nil: null, freq: 3 }),
      expiresInHours: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    }),
    { minLength: 2, maxLength: 8 },
  ),
  changes: fc.array(changeArb, { minLength: 1, maxLength: 6 }),
});

/** The makers up a lent token's line, as the store holds them now; undefined for one that is gone. */
async function makersOf(store: MemoryStore, record: TokenRecord): Promise<Array<TokenRecord | undefined>> {
  const makers: Array<TokenRecord | undefined> = [];
  let at: TokenRecord | undefined = record;
  while (at?.lent === true && at.parentId !== null) {
    at = await store.getToken(at.parentId);
    makers.push(at);
  }
  return makers;
}

t.test('a lent token is allowed only while every maker up its line is active and unexpired', async (t) => {
  let refusedByLine = 0;
  await fc.assert(
    fc.asyncProperty(worldArb, async (world) => {
      const store = new MemoryStore();
      const clock = new FakeClock(NOW);
      const cache = new TokenCache({
        store,
        clock,
        observer: new RecordingObserver(),
        max: 100,
        ttlMs: 10 * HOUR,
        negativeMax: 10,
        negativeTtlMs: 1000,
        staleIfErrorMs: 0,
      });
      const tokens: Array<{ record: TokenRecord; secret: string }> = [];
      for (const spec of world.tokens) {
        const maker = spec.maker === null || tokens.length === 0 ? undefined : tokens[spec.maker % tokens.length]!.record;
        const made = makeToken({
          ...(maker === undefined ? {} : { lent: true, parentId: maker.id }),
          expiresAt: spec.expiresInHours === null ? null : NOW + spec.expiresInHours * HOUR,
          createdAt: NOW,
          updatedAt: NOW,
        });
        await store.createToken(made.record, entry('created', NOW));
        tokens.push(made);
      }
      for (const { secret } of tokens) await cache.resolve(hashSecret(secret));
      for (const change of world.changes) {
        const target = tokens[change.token % tokens.length]!.record;
        const now = await store.getToken(target.id);
        if (now !== undefined) {
          if (change.to === 'deleted') await store.deleteToken(target.id, entry('deleted', clock.now()), now.version);
          else {
            const next: TokenRecord =
              change.to === 'expires'
                ? { ...now, expiresAt: clock.now() + HOUR, updatedAt: clock.now() }
                : {
                    ...now,
                    status: change.to === 'revoked' ? 'revoked' : 'active',
                    revokedAt: change.to === 'revoked' ? clock.now() : null,
                    updatedAt: clock.now(),
                  };
            await store.updateToken(next, entry('edited', clock.now()), now.version);
          }
          cache.apply({ at: clock.now(), type: 'tokens', ids: [target.id] });
        }
        clock.advance(change.laterHours * HOUR);
        for (const { record, secret } of tokens) {
          if (record.lent !== true) continue;
          const identity = await cache.resolve(hashSecret(secret));
          if (typeof identity !== 'object') continue;
          const allowed = authorize(identity, 'query', undefined, clock.now()).allowed;
          const makers = await makersOf(store, record);
          const lineHolds = makers.every((maker) => maker !== undefined && maker.status === 'active' && !isExpired(maker, clock.now()));
          if (allowed && !lineHolds) throw new Error(`lent token ${record.id} allowed while a maker up its line is revoked, gone or expired`);
          const self = await store.getToken(record.id);
          if (!allowed && lineHolds && self !== undefined && self.status === 'active' && !isExpired(self, clock.now())) {
            throw new Error(`lent token ${record.id} refused although it and its whole line are active`);
          }
          if (!allowed && !lineHolds) refusedByLine++;
        }
      }
    }),
    {
      numRuns: Number(process.env.TG_PROPERTY_RUNS ?? 200),
      seed: process.env.TG_PROPERTY_SEED ? Number(process.env.TG_PROPERTY_SEED) : undefined,
      path: process.env.TG_PROPERTY_PATH,
    },
  );
  t.ok(refusedByLine > 50, `the property met loans refused for their line (${refusedByLine})`);
});
