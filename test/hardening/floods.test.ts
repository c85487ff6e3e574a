import t from 'tap';
import { request } from 'undici';
import { TokenCache } from '../../src/auth/token-cache.js';
import { generateSecret, hashSecret } from '../../src/tokens/secret.js';
import { CountingStore, FakeClock, RecordingObserver } from '../helpers/fakes.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { entry, makeToken } from '../helpers/records.js';

t.test('100,000 random well-formed tokens: the negative cache stays bounded and a good token stays a hit', async (t) => {
  const store = new CountingStore();
  const observer = new RecordingObserver();
  const clock = new FakeClock();
  const cache = new TokenCache({ store, clock, observer, max: 1000, ttlMs: 30_000, negativeMax: 10_000, negativeTtlMs: 5_000, staleIfErrorMs: 60_000 });
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  const good = hashSecret(secret);
  await cache.resolve(good);
  const lookupsBefore = store.getTokenCalls;
  for (let i = 0; i < 100_000; i++) {
    await cache.resolve(hashSecret(generateSecret('repository')));
    if (i % 1000 === 0) t.not(cache.cached(good, clock.now()), undefined, `good token still cached after ${i}`);
  }
  t.equal(store.getTokenCalls - lookupsBefore, 100_000, 'each unknown token looked up once');
  t.equal(cache.size, 1, 'the positive cache holds only the good token');
  t.equal((cache as unknown as { negative: { size: number } }).negative.size, 10_000, 'the negative cache is at its bound');
});

t.test('through the proxy: a flood of random tokens is refused while a good token keeps being served from the cache', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const good = await h.token(['query']);
  const url = `${h.proxy}/v1/repositories/sensors/q`;
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await request(`${h.admin}/metrics`)).body.text())?.[1]);
  const warm = await request(url, { headers: bearer(good.secret) });
  await warm.body.dump();
  const missesBefore = await metric('tollgate_cache_misses_total');
  for (let round = 0; round < 100; round++) {
    const flood = Array.from({ length: 50 }, () =>
      request(url, { headers: bearer(generateSecret('repository')) }).then(async (res) => {
        await res.body.dump();
        return res.statusCode;
      }),
    );
    const served = request(url, { headers: bearer(good.secret) }).then(async (res) => {
      await res.body.dump();
      return res.statusCode;
    });
    const statuses = await Promise.all(flood);
    t.equal(await served, 200);
    if (statuses.some((s) => s !== 401)) t.fail(`round ${round}: ${statuses.filter((s) => s !== 401)}`);
  }
  t.equal((await metric('tollgate_cache_misses_total')) - missesBefore, 5000, 'only the random tokens missed');
  t.equal(await metric('tollgate_cache_entries'), 1, 'only the good token is cached');
});
