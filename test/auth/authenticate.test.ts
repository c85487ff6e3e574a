import t from 'tap';
import { authenticate } from '../../src/auth/authenticate.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import { generateSecret } from '../../src/tokens/secret.js';
import { CountingStore, FakeClock, RecordingObserver } from '../helpers/fakes.js';
import { entry, makeToken } from '../helpers/records.js';

// authenticate() as a table: what a request's headers carry -> the answer, and whether the
// store was asked (garbage must never cost a lookup).

const clock = new FakeClock(1_800_000_000_000);
const store = new CountingStore();
const cache = new TokenCache({
  store,
  clock,
  observer: new RecordingObserver(),
  max: 100,
  ttlMs: 30_000,
  negativeMax: 100,
  negativeTtlMs: 5000,
  staleIfErrorMs: 60_000,
});
const active = makeToken();
const revoked = makeToken({ status: 'revoked' });
const expired = makeToken({ expiresAt: clock.now() - 1 });
for (const token of [active, revoked, expired]) await store.createToken(token.record, entry('created'));
const unknown = generateSecret('repository');
const badChecksum = `${active.secret.slice(0, -1)}${active.secret.endsWith('A') ? 'B' : 'A'}`;

const CASES: Array<[what: string, headers: string[], answer: string, storeLookups: number]> = [
  ['no Authorization', [], 'missing_token', 0],
  ['two Authorization headers', ['Authorization', `Bearer ${active.secret}`, 'authorization', `Bearer ${active.secret}`], 'duplicate_authorization', 0],
  ['another scheme', ['Authorization', `Basic ${active.secret}`], 'invalid_token', 0],
  ['not the secret shape', ['Authorization', 'Bearer tgr_short'], 'invalid_token', 0],
  ['the shape with a wrong checksum', ['Authorization', `Bearer ${badChecksum}`], 'invalid_token', 0],
  ['an unknown secret', ['Authorization', `Bearer ${unknown}`], 'invalid_token', 1],
  ['a revoked token', ['Authorization', `Bearer ${revoked.secret}`], 'invalid_token', 1],
  ['an expired token', ['Authorization', `Bearer ${expired.secret}`], 'invalid_token', 1],
  ['an active token', ['Authorization', `Bearer ${active.secret}`], 'identity', 1],
  ['an active token again (cached, answered without a promise)', ['Authorization', `bearer ${active.secret}`], 'identity', 0],
];

for (const [what, headers, answer, lookups] of CASES) {
  t.test(what, async (t) => {
    const before = store.getTokenCalls;
    const result = authenticate(headers, cache, clock.now());
    if (lookups === 0 && answer === 'identity') t.notOk(result instanceof Promise, 'a cached token is answered synchronously');
    const settled = await result;
    t.equal(typeof settled === 'string' ? settled : 'identity', answer);
    if (typeof settled !== 'string') t.equal(settled.record.id, active.record.id);
    t.equal(store.getTokenCalls - before, lookups, `${lookups} store lookups`);
  });
}

t.test('the store down and the token not cached: store_unavailable (fail closed)', async (t) => {
  const fresh = makeToken();
  await store.createToken(fresh.record, entry('created'));
  store.isDown = true;
  t.teardown(() => (store.isDown = false));
  t.equal(await authenticate(['Authorization', `Bearer ${fresh.secret}`], cache, clock.now()), 'store_unavailable');
});
