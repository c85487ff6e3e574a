import t from 'tap';
import { request } from 'undici';
import { RedisStore } from '../../src/store/redis-store.js';
import { FakeClock } from '../helpers/fakes.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { startRedis } from '../helpers/redis-server.js';

// When the store cannot be reached, a replica spends what it has leased and then refuses with
// 503, like an uncached token: never unlimited.

const redis = await startRedis();
t.teardown(() => redis.stop());

t.test('with Redis down, a limited token spends its lease and then gets 503, never more', async (t) => {
  const clock = new FakeClock(1_750_000_000_000);
  const store = new RedisStore({ url: redis.url, keyPrefix: 'down:', commandTimeoutMs: 500 });
  await store.waitUntilReady(5000);
  const h = await startHarness({ store, clock, config: { cache: { ttl: '1h', staleIfError: '1h' } } });
  t.teardown(() => h.close());
  // A slice of 2 requests: what this replica can hold is small and known.
  const { secret } = await h.token(['query'], 'sensors', { limits: { rate: { requests: 20, per: '1h' } } });
  const get = async () => {
    const response = await request(`${h.proxy}/v1/repositories/sensors/x`, { headers: bearer(secret) });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      type: response.statusCode === 200 ? '' : (JSON.parse(text) as { type: string }).type,
      retryAfter: response.headers['retry-after'],
    };
  };
  t.equal((await get()).status, 200, 'allowed while the store answers (the token is cached now)');

  await redis.kill();
  const seen = [];
  for (let i = 0; i < 12; i++) seen.push(await get());
  const allowed = seen.filter((s) => s.status === 200).length;
  t.ok(allowed <= 4, `at most what was leased (two slices) is spent (${allowed})`);
  const firstRefusal = seen.findIndex((s) => s.status !== 200);
  t.ok(firstRefusal >= 0, 'then refused');
  t.ok(
    seen.slice(firstRefusal).every((s) => s.status === 503 && s.type === '/problems/store-unavailable' && s.retryAfter === '1'),
    'every refusal after is 503 with Retry-After',
  );
});
