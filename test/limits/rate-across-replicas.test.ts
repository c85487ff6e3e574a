import t from 'tap';
import { request } from 'undici';
import { sliceOf } from '../../src/limits/lease.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { FakeClock } from '../helpers/fakes.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';
import { startRedis } from '../helpers/redis-server.js';

// Two Tollgate replicas on one real Redis: a rate of 50 per second holds across both, to within
// one lease per replica, with no store round trip per request. The clock is fake and stands
// still, so every request falls in one window whatever the machine's speed.

const redis = await startRedis();
t.teardown(() => redis.stop());

async function replica(clock: FakeClock): Promise<Harness> {
  const store = new RedisStore({ url: redis.url, keyPrefix: 'rate:', commandTimeoutMs: 1000 });
  await store.waitUntilReady(5000);
  const harness = await startHarness({ store, clock });
  t.teardown(() => harness.close());
  return harness;
}

t.test(
  'a rate of 50/1s across two replicas allows 50 less at most one lease per replica, and refuses the rest with Retry-After and RateLimit fields',
  async (t) => {
    const clock = new FakeClock(1_750_000_000_250);
    const [a, b] = [await replica(clock), await replica(clock)];
    const { secret } = await a.token(['query'], 'sensors', { limits: { rate: { requests: 50, per: '1s' } } });
    let allowed = 0;
    const refusals: Array<{ status: number; headers: Record<string, unknown>; type: string }> = [];
    const allowedHeaders: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 120; i++) {
      const to = i % 2 === 0 ? a : b;
      const response = await request(`${to.proxy}/v1/repositories/sensors/items`, { headers: bearer(secret) });
      const text = await response.body.text();
      if (response.statusCode === 200) {
        allowed++;
        allowedHeaders.push(response.headers);
      } else refusals.push({ status: response.statusCode, headers: response.headers, type: (JSON.parse(text) as { type: string }).type });
    }
    const slice = sliceOf('rate', 50);
    t.ok(allowed <= 50, `never more than the limit (${allowed})`);
    t.ok(allowed >= 50 - 2 * slice, `at most one lease per replica short of it (${allowed})`);
    t.equal(refusals.length, 120 - allowed);
    for (const refusal of refusals) {
      t.equal(refusal.status, 429);
      t.equal(refusal.type, '/problems/rate-limited');
      t.match(refusal.headers['retry-after'], /^[1-9]\d*$/);
      t.equal(refusal.headers['ratelimit-policy'], '"rate";q=50;w=1');
      t.match(refusal.headers.ratelimit, /^"rate";r=0;t=1$/);
    }
    t.equal(allowedHeaders[0]!['ratelimit-policy'], '"rate";q=50;w=1', 'allowed responses carry the policy too');
    t.match(allowedHeaders[0]!.ratelimit, /^"rate";r=\d+;t=1$/);

    // A second later the window has slid by one: the budget comes back.
    clock.advance(2000);
    const later = await request(`${a.proxy}/v1/repositories/sensors/items`, { headers: bearer(secret) });
    await later.body.text();
    t.equal(later.statusCode, 200, 'allowed again once the window has passed');

    const metrics = await (await request(`${a.admin}/metrics`)).body.text();
    t.match(metrics, /tollgate_limited_total\{limit="rate"\} [1-9]/);
  },
);

t.test('a token without limits carries no RateLimit fields', async (t) => {
  const clock = new FakeClock(1_750_000_000_250);
  const a = await replica(clock);
  const { secret } = await a.token(['query']);
  const response = await request(`${a.proxy}/v1/repositories/sensors/items`, { headers: bearer(secret) });
  await response.body.text();
  t.equal(response.statusCode, 200);
  t.equal(response.headers['ratelimit-policy'], undefined);
  t.equal(response.headers.ratelimit, undefined);
});

t.test('a lease is given back at drain: what one replica leased and did not spend is there for the other', async (t) => {
  const clock = new FakeClock(1_750_000_000_250);
  const store = new RedisStore({ url: redis.url, keyPrefix: 'drain:', commandTimeoutMs: 1000 });
  await store.waitUntilReady(5000);
  const a = await startHarness({ store, clock });
  const { token, secret } = await a.token(['query'], 'sensors', { limits: { rate: { requests: 100, per: '1h' } } });
  const response = await request(`${a.proxy}/v1/repositories/sensors/items`, { headers: bearer(secret) });
  await response.body.text();
  const key = { tokenId: token.id, limit: 'rate' as const, window: clock.now() - (clock.now() % 3_600_000) };
  const probe = new RedisStore({ url: redis.url, keyPrefix: 'drain:', commandTimeoutMs: 1000 });
  await probe.waitUntilReady(5000);
  t.teardown(() => probe.close());
  t.same(await probe.readBudgets([key], clock.now()), [sliceOf('rate', 100)], 'one lease taken');
  await a.close();
  t.same(await probe.readBudgets([key], clock.now()), [1], 'after drain only the request spent stays counted');
});
