import t from 'tap';
import { TokenCache, type TokenCacheOptions, UNAVAILABLE, UNKNOWN, UNOBSERVED } from '../../src/auth/token-cache.js';
import { generateSecret, hashSecret } from '../../src/tokens/secret.js';
import { CountingStore, FakeClock, RecordingObserver } from '../helpers/fakes.js';
import { entry, makeToken } from '../helpers/records.js';

function setup(over: Partial<TokenCacheOptions> = {}) {
  const store = new CountingStore();
  const clock = new FakeClock();
  const observer = new RecordingObserver();
  const cache = new TokenCache({
    store,
    clock,
    observer,
    max: 100,
    ttlMs: 30_000,
    negativeMax: 10,
    negativeTtlMs: 5_000,
    staleIfErrorMs: 60_000,
    ...over,
  });
  return { store, clock, observer, cache };
}

t.test('a thousand concurrent misses for one token make one store lookup', async (t) => {
  const { store, cache } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  let open!: () => void;
  store.gate = new Promise((resolve) => (open = resolve));
  const hash = hashSecret(secret);
  const all = Promise.all(Array.from({ length: 1000 }, () => cache.resolve(hash)));
  open();
  const results = await all;
  t.equal(store.getTokenCalls, 1);
  t.ok(results.every((r) => typeof r === 'object' && r.record.id === record.id));
});

t.test('a fresh entry is answered without I/O until its TTL passes', async (t) => {
  const { store, clock, cache, observer } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  const hash = hashSecret(secret);
  await cache.resolve(hash);
  clock.advance(29_999);
  t.equal((cache.cached(hash, clock.now()) as { record: { id: string } }).record.id, record.id);
  t.equal(store.getTokenCalls, 1);
  clock.advance(1);
  t.equal(cache.cached(hash, clock.now()), undefined, 'at the TTL the store is asked again');
  await cache.resolve(hash);
  t.equal(store.getTokenCalls, 2);
  t.equal(observer.hits, 1);
});

t.test('an unknown token is cached negatively for its short TTL', async (t) => {
  const { store, clock, cache } = setup();
  const hash = hashSecret(generateSecret('repository'));
  t.equal(await cache.resolve(hash), UNKNOWN);
  t.equal(cache.cached(hash, clock.now()), UNKNOWN);
  t.equal(await cache.resolve(hash), UNKNOWN);
  t.equal(store.getTokenCalls, 1);
  clock.advance(5_001);
  t.equal(cache.cached(hash, clock.now()), undefined);
});

t.test('a flood of unknown tokens cannot evict a good one', async (t) => {
  const { store, clock, cache } = setup({ max: 5, negativeMax: 10 });
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  const good = hashSecret(secret);
  await cache.resolve(good);
  for (let i = 0; i < 1000; i++) await cache.resolve(hashSecret(generateSecret('repository')));
  t.not(cache.cached(good, clock.now()), undefined);
  t.equal(cache.size, 1);
});

t.test('an entry under the same id with another hash is not a hit', async (t) => {
  const { store, clock, cache } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  await cache.resolve(hashSecret(secret));
  const forged = record.hash.slice(0, 16) + '0'.repeat(48);
  t.equal(cache.cached(forged, clock.now()), undefined);
  t.equal(await cache.resolve(forged), UNKNOWN);
});

t.test('store down and nothing cached: unavailable, never a pass', async (t) => {
  const { store, cache, observer } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  store.isDown = true;
  t.equal(await cache.resolve(hashSecret(secret)), UNAVAILABLE);
  t.same(observer.storeErrors, ['getToken']);
});

t.test('store down: a cached entry serves for staleIfError past its TTL, then not', async (t) => {
  const { store, clock, cache } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  const hash = hashSecret(secret);
  await cache.resolve(hash);
  store.isDown = true;
  clock.advance(30_000 + 59_999);
  t.equal(((await cache.resolve(hash)) as { record: { id: string } }).record.id, record.id);
  clock.advance(1);
  t.equal(await cache.resolve(hash), UNAVAILABLE);
});

t.test('evicting a token makes the next lookup go to the store', async (t) => {
  const { store, clock, cache } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  const hash = hashSecret(secret);
  await cache.resolve(hash);
  await store.updateToken({ ...record, status: 'revoked' }, entry('revoked'), record.version);
  cache.onMessage({ at: clock.now(), type: 'tokens', ids: [record.id] });
  t.equal(cache.cached(hash, clock.now()), undefined);
  t.equal(((await cache.resolve(hash)) as { record: { status: string } }).record.status, 'revoked');
});

t.test('a lookup that raced an invalidation is answered but not cached', async (t) => {
  const { store, clock, cache } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  let open!: () => void;
  store.gate = new Promise((resolve) => (open = resolve));
  const hash = hashSecret(secret);
  const pending = cache.resolve(hash);
  cache.evict([record.id]);
  open();
  await pending;
  t.equal(cache.cached(hash, clock.now()), undefined);
});

t.test('a user message evicts every personal token of that user, and only those', async (t) => {
  const { store, clock, cache } = setup();
  await store.putUser({ name: 'alice', grants: { sensors: ['query'] }, createdAt: 1, updatedAt: 1 });
  const alice = makeToken({ kind: 'personal', user: 'alice' });
  const shared = makeToken();
  await store.createToken(alice.record, entry('created'));
  await store.createToken(shared.record, entry('created'));
  const aliceResolved = await cache.resolve(hashSecret(alice.secret));
  t.same((aliceResolved as { grants: unknown }).grants, { sensors: ['query'] });
  await cache.resolve(hashSecret(shared.secret));
  cache.onMessage({ at: clock.now() - 20, type: 'user', user: 'alice' });
  t.equal(cache.cached(hashSecret(alice.secret), clock.now()), undefined);
  t.not(cache.cached(hashSecret(shared.secret), clock.now()), undefined);
});

t.test('invalidation lag is reported from the publish time', async (t) => {
  const { clock, cache, observer } = setup();
  cache.onMessage({ at: clock.now() - 40, type: 'tokens', ids: [] });
  t.same(observer.lags, [0.04]);
});

t.test('a reset clears both caches and is counted', async (t) => {
  const { store, clock, cache, observer } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  await cache.resolve(hashSecret(secret));
  const unknown = hashSecret(generateSecret('repository'));
  await cache.resolve(unknown);
  cache.onReset();
  t.equal(cache.size, 0);
  t.equal(cache.cached(unknown, clock.now()), undefined);
  t.equal(observer.resets, 1);
});

t.test('lookups given their own observer (the admin API: UNOBSERVED) are not counted; store errors still are', async (t) => {
  const { store, clock, cache, observer } = setup();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  const hash = hashSecret(secret);
  await cache.resolve(hash, UNOBSERVED);
  await cache.resolve(hash, UNOBSERVED);
  t.not(cache.cached(hash, clock.now(), UNOBSERVED), undefined, 'a hit, unobserved');
  t.same([observer.hits, observer.misses], [0, 0]);
  await cache.resolve(hash);
  t.same([observer.hits, observer.misses], [1, 0], 'the default observer still counts');
  store.isDown = true;
  t.equal(await cache.resolve(hashSecret(makeToken().secret), UNOBSERVED), UNAVAILABLE);
  t.same(observer.storeErrors, ['getToken']);
  t.equal(observer.misses, 0);
});

t.test("a lent token's makers are read with it on a miss, up to the first independent one, and a hit reads nothing", async (t) => {
  const { store, cache, clock } = setup();
  // The root names a maker but is independent (a store written before lent tokens): the line ends there.
  const root = makeToken({ parentId: 'ffffffffffffffff', limits: { rate: { requests: 5, per: '1s' } } }).record;
  const middle = makeToken({ lent: true, parentId: root.id, budgetId: 'feedfacefeedface' }).record;
  const { record: leaf, secret } = makeToken({ lent: true, parentId: middle.id });
  for (const record of [root, middle, leaf]) await store.createToken(record, entry('created'));
  const resolved = await cache.resolve(hashSecret(secret));
  if (typeof resolved !== 'object') throw new Error('not resolved');
  t.same(
    resolved.line,
    [
      { id: middle.id, budgetId: 'feedfacefeedface', limits: undefined, repository: 'sensors' },
      { id: root.id, budgetId: undefined, limits: root.limits, repository: 'sensors' },
    ],
    'nearest maker first, with what the limiter needs',
  );
  t.equal(store.getTokenCalls, 3, 'the token and its two makers');
  t.equal(cache.cached(hashSecret(secret), clock.now()), resolved, 'then a hit');
  t.equal(store.getTokenCalls, 3, 'with no read');
  const independent = makeToken().record;
  await store.createToken(independent, entry('created'));
  const plain = await cache.resolve(independent.hash);
  t.equal(typeof plain === 'object' ? plain.line : 'unresolved', undefined, 'an independent token has no line');
});

t.test("a lent token's line ends when a maker is revoked or gone, or at its makers' earliest expiry", async (t) => {
  const { store, cache } = setup();
  const root = makeToken({ expiresAt: 2_000_000_000_000 }).record;
  const middle = makeToken({ lent: true, parentId: root.id, expiresAt: 1_900_000_000_000 }).record;
  const { record: leaf, secret } = makeToken({ lent: true, parentId: middle.id });
  for (const record of [root, middle, leaf]) await store.createToken(record, entry('created'));
  const line = async () => {
    const resolved = await cache.resolve(hashSecret(secret));
    if (typeof resolved !== 'object') throw new Error('not resolved');
    return resolved.lineEndsAt;
  };
  t.equal(await line(), 1_900_000_000_000, "the earliest of its makers' expiries");
  const revoked = { ...root, status: 'revoked' as const, revokedAt: 1, updatedAt: 1 };
  t.equal(await store.updateToken(revoked, entry('revoked'), root.version), 'written');
  cache.evict([root.id]);
  t.equal(await line(), 0, 'a maker up the line revoked: ended, read again because its maker was evicted');
  await store.deleteToken(middle.id, entry('deleted'), middle.version);
  cache.evict([middle.id]);
  t.equal(await line(), 0, 'a maker gone: ended');
});

t.test('evicting a maker evicts every cached token lent down its line, and only those', async (t) => {
  const { store, cache, clock } = setup();
  const root = makeToken().record;
  const lent = makeToken({ lent: true, parentId: root.id });
  const grand = makeToken({ lent: true, parentId: lent.record.id });
  const other = makeToken();
  for (const record of [root, lent.record, grand.record, other.record]) await store.createToken(record, entry('created'));
  for (const each of [lent, grand, other]) await cache.resolve(hashSecret(each.secret));
  const isCached = (secret: string) => typeof cache.cached(hashSecret(secret), clock.now()) === 'object';
  t.ok(isCached(lent.secret) && isCached(grand.secret) && isCached(other.secret), 'all three cached');
  cache.evict([root.id]);
  t.notOk(isCached(lent.secret), 'its loan is dropped');
  t.notOk(isCached(grand.secret), "and its loan's loan");
  t.ok(isCached(other.secret), 'another token stays');
  await cache.resolve(hashSecret(grand.secret));
  cache.evict([lent.record.id]);
  t.notOk(isCached(grand.secret), 'read again, it is dropped with its nearer maker too');
});
