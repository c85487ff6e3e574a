import t from 'tap';
import { request } from 'undici';
import { RedisStore } from '../../src/store/redis-store.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

const redis = await startRedis();
t.teardown(() => redis.stop());
const store = new RedisStore({ url: redis.url, keyPrefix: 'outage:', commandTimeoutMs: 1000 });
await store.waitUntilReady(5000);
const h = await startHarness({ store });
t.teardown(() => h.close());
const path = `${h.proxy}/v1/repositories/sensors/query`;
const cached = await h.token(['query']);
const uncached = await h.token(['query']);

const ready = async () => (await request(`${h.admin}/readyz`)).statusCode;

t.test('store down: a cached token is served, an uncached one gets 503 with Retry-After', async (t) => {
  const warm = await request(path, { headers: bearer(cached.secret) });
  t.equal(warm.statusCode, 200);
  await warm.body.dump();
  t.equal(await ready(), 200);

  await redis.kill();

  const hit = await request(path, { headers: bearer(cached.secret) });
  t.equal(hit.statusCode, 200);
  await hit.body.dump();

  const miss = await request(path, { headers: bearer(uncached.secret) });
  t.equal(miss.statusCode, 503);
  t.equal(miss.headers['retry-after'], '1');
  t.equal(((await miss.body.json()) as { type: string }).type, '/problems/store-unavailable');
  t.equal(await ready(), 503);
  const metrics = await (await request(`${h.admin}/metrics`)).body.text();
  t.match(metrics, /^tollgate_store_up 0$/m);
  t.match(metrics, /^tollgate_requests_total\{right="none",outcome="unavailable",credential="token"\} 1$/m);
});

t.test('past its TTL a cached token serves for staleIfError more, then fails closed', async (t) => {
  h.clock.advance(30_000 + 59_000);
  const stale = await request(path, { headers: bearer(cached.secret) });
  t.equal(stale.statusCode, 200);
  await stale.body.dump();
  h.clock.advance(2_000);
  const gone = await request(path, { headers: bearer(cached.secret) });
  t.equal(gone.statusCode, 503);
  await gone.body.dump();
});

t.test('store back: readiness returns to 200', async (t) => {
  await redis.restart();
  await waitFor(async () => (await ready()) === 200, { what: '/readyz to recover', timeoutMs: 10_000 });
  const metrics = await (await request(`${h.admin}/metrics`)).body.text();
  t.match(metrics, /^tollgate_store_up 1$/m);
});
