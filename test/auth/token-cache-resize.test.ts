import t from 'tap';
import { TokenCache } from '../../src/auth/token-cache.js';
import { hashSecret } from '../../src/tokens/secret.js';
import { CountingStore, FakeClock, RecordingObserver } from '../helpers/fakes.js';
import { entry, makeToken } from '../helpers/records.js';

// A reload that sets new cache sizes and TTLs (docs/configuration.md, "Reloading").

async function setup() {
  const store = new CountingStore();
  const clock = new FakeClock();
  const cache = new TokenCache({
    store,
    clock,
    observer: new RecordingObserver(),
    max: 3,
    ttlMs: 30_000,
    negativeMax: 10,
    negativeTtlMs: 5_000,
    staleIfErrorMs: 0,
  });
  const hashes: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { record, secret } = makeToken();
    await store.createToken(record, entry('created'));
    hashes.push(hashSecret(secret));
    await cache.resolve(hashSecret(secret));
  }
  return { store, clock, cache, hashes };
}

t.test('a smaller cache keeps the most recently used tokens, and answers them without the store', async (t) => {
  const { store, clock, cache, hashes } = await setup();
  // The first token is used last: it is the most recent, the second the least.
  t.ok(cache.cached(hashes[0]!, clock.now()));
  cache.resize({ max: 2, ttlMs: 30_000, negativeMax: 10, negativeTtlMs: 5_000, staleIfErrorMs: 0 });
  t.equal(cache.size, 2);
  const calls = store.getTokenCalls;
  t.ok(cache.cached(hashes[0]!, clock.now()), 'the most recent is kept');
  t.ok(cache.cached(hashes[2]!, clock.now()), 'so is the next');
  t.equal(cache.cached(hashes[1]!, clock.now()), undefined, 'the least recent went');
  t.equal(store.getTokenCalls, calls);
});

t.test('a shorter TTL applies to entries already cached', async (t) => {
  const { clock, cache, hashes } = await setup();
  clock.advance(10_000);
  t.ok(cache.cached(hashes[0]!, clock.now()), 'fresh under the 30 s TTL');
  cache.resize({ max: 3, ttlMs: 5_000, negativeMax: 10, negativeTtlMs: 5_000, staleIfErrorMs: 0 });
  t.equal(cache.cached(hashes[0]!, clock.now()), undefined, 'stale under the new 5 s TTL: the store is asked');
});
