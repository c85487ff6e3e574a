import { execFileSync, spawn } from 'node:child_process';
import t from 'tap';
import { request } from 'undici';
import { RedisStore } from '../../src/store/redis-store.js';
import { call } from '../helpers/admin-client.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

// Two replicas, each with its own cache, sharing one real Redis.
const redis = await startRedis();
t.teardown(() => redis.stop());
const replica = async () => {
  const store = new RedisStore({ url: redis.url, keyPrefix: 'replicas:', commandTimeoutMs: 250 });
  await store.waitUntilReady(5000);
  return startHarness({ store });
};
const a = await replica();
const b = await replica();
t.teardown(() => Promise.all([a.close(), b.close()]));

const status = async (h: Harness, secret: string, path = '/v1/repositories/sensors/query') => {
  const res = await request(`${h.proxy}${path}`, { headers: bearer(secret) });
  await res.body.dump();
  return res.statusCode;
};
const metric = async (h: Harness, name: string) => {
  const text = await (await request(`${h.admin}/metrics`)).body.text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

t.test('a token revoked on one replica is refused by the other within a second', async (t) => {
  const token = await a.token(['query']);
  t.equal(await status(b, token.secret), 200, 'cached on b');
  t.equal((await call(a, 'POST', `/v1/tokens/${token.token.id}/revoke`, a.adminSecret)).status, 200);
  await waitFor(async () => (await status(b, token.secret)) === 401, { what: 'b to refuse the revoked token', timeoutMs: 1000, everyMs: 5 });
  t.ok((await metric(b, 'tollgate_invalidations_total')) >= 1, 'b counted the message');
  t.ok((await metric(b, 'tollgate_invalidation_lag_seconds_count')) >= 1, 'and its lag');
});

t.test('a grant taken from a user on one replica applies to their personal tokens on the other', async (t) => {
  await call(a, 'POST', '/v1/users', a.adminSecret, { name: 'alice', grants: { sensors: ['query'] } });
  const personal = (
    await call(a, 'POST', '/v1/tokens', a.adminSecret, { kind: 'personal', name: 'p', user: 'alice', repository: 'sensors', rights: ['query'] })
  ).body;
  t.equal(await status(b, personal.secret), 200);
  await call(a, 'PATCH', '/v1/users/alice', a.adminSecret, { grants: {} });
  await waitFor(async () => (await status(b, personal.secret)) === 403, { what: 'b to apply the grant change', timeoutMs: 1000, everyMs: 5 });
});

t.test('a replica whose subscriber connection drops clears its cache when it comes back', async (t) => {
  const token = await a.token(['query']);
  t.equal(await status(b, token.secret), 200);
  const before = await metric(b, 'tollgate_cache_resets_total');
  execFileSync('redis-cli', ['-p', String(redis.port), 'CLIENT', 'KILL', 'TYPE', 'pubsub']);
  await waitFor(async () => (await metric(b, 'tollgate_cache_resets_total')) > before, { what: 'b to reset its cache' });
  t.equal(await metric(b, 'tollgate_cache_entries'), 0);
});

t.test('Redis too slow: an uncached token gets 503 at the command timeout, never a hang or a pass', async (t) => {
  const token = await a.token(['query']);
  const sleeping = new Promise((resolve) => spawn('redis-cli', ['-p', String(redis.port), 'DEBUG', 'SLEEP', '2']).on('exit', resolve));
  await waitFor(async () => !(await fetchOk(`${b.admin}/readyz`)), { what: 'Redis to stall' });
  // The client gives up after 1.5 s, well before the 2 s sleep ends: a hang would fail here.
  const res = await request(`${b.proxy}/v1/repositories/sensors/query`, { headers: bearer(token.secret), headersTimeout: 1500 });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '1');
  await res.body.dump();
  await sleeping;
  t.equal(await status(b, token.secret), 200, 'served once Redis answers again');
});

async function fetchOk(url: string): Promise<boolean> {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode === 200;
}
