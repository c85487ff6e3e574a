import { readFileSync } from 'node:fs';
import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { bearer, startHarness } from '../helpers/harness.js';

// Issue #23: admin lookups left the data-plane cache series alone, admin requests counted on
// their own by route pattern, build info, and error series present before the first error.
const h = await startHarness();
t.teardown(() => h.close());
const admin = h.adminSecret;

const scrape = async () => (await request(`${h.admin}/metrics`)).body.text();
const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

t.test('admin token lookups count in no cache series; data-plane lookups still do', async (t) => {
  const before = await scrape();
  for (let i = 0; i < 5; i++) t.equal((await call(h, 'GET', '/v1/repositories', admin)).status, 200);
  const after = await scrape();
  t.equal(value(after, 'tollgate_cache_hits_total'), value(before, 'tollgate_cache_hits_total') ?? 0, 'no hits');
  t.equal(value(after, 'tollgate_cache_misses_total'), value(before, 'tollgate_cache_misses_total') ?? 0, 'no misses');
  t.equal(value(after, 'tollgate_auth_duration_seconds_count{source="cache"}'), value(before, 'tollgate_auth_duration_seconds_count{source="cache"}'));

  const reader = await h.token(['query']);
  for (let i = 0; i < 3; i++) {
    const res = await request(`${h.proxy}/v1/repositories/sensors/q`, { headers: bearer(reader.secret) });
    t.equal(res.statusCode, 200);
    await res.body.dump();
  }
  const proxied = await scrape();
  t.equal(value(proxied, 'tollgate_cache_misses_total'), (value(after, 'tollgate_cache_misses_total') ?? 0) + 1);
  t.equal(value(proxied, 'tollgate_cache_hits_total'), (value(after, 'tollgate_cache_hits_total') ?? 0) + 2);
});

t.test('admin requests are counted by route pattern and status, timed by operation, never by value', async (t) => {
  const token = await h.token(['query']);
  t.equal((await call(h, 'GET', `/v1/tokens/${token.token.id}`, admin)).status, 200);
  t.equal((await call(h, 'GET', '/v1/tokens/0123456789abcdef', admin)).status, 404);
  t.equal((await call(h, 'GET', '/v1/users/nobody', admin)).status, 404);
  t.equal((await call(h, 'GET', `/no/such/${token.token.id}`, admin)).status, 404);
  t.equal((await call(h, 'PUT', '/v1/tokens', admin)).status, 405);
  t.equal((await call(h, 'GET', '/v1/tokens', undefined)).status, 401);
  const text = await scrape();
  t.equal(value(text, 'tollgate_admin_requests_total{route="GET /v1/tokens/{id}",status="200"}'), 1);
  t.equal(value(text, 'tollgate_admin_requests_total{route="GET /v1/tokens/{id}",status="404"}'), 1);
  t.equal(value(text, 'tollgate_admin_requests_total{route="GET /v1/users/{name}",status="404"}'), 1);
  t.equal(value(text, 'tollgate_admin_requests_total{route="GET /v1/tokens",status="401"}'), 1);
  t.equal(value(text, 'tollgate_admin_requests_total{route="unmatched",status="404"}'), 1);
  t.equal(value(text, 'tollgate_admin_requests_total{route="unmatched",status="405"}'), 1);
  t.ok((value(text, 'tollgate_admin_requests_total{route="GET /v1/repositories",status="200"}') ?? 0) >= 5);
  // Timed by operation only: a histogram per route was 16 series for every route ever called.
  t.ok((value(text, 'tollgate_admin_request_duration_seconds_count{operation="read"}') ?? 0) >= 5, 'the GETs are reads');
  t.ok((value(text, 'tollgate_admin_request_duration_seconds_count{operation="write"}') ?? 0) >= 1, 'the PUT is a write');
  t.notMatch(text, /^tollgate_admin_request_duration_seconds_bucket\{[^}]*route=/m, 'no route label on the histogram');
  t.match(text, /^# TYPE tollgate_admin_request_duration_seconds histogram$/m);
  t.notOk(text.includes(token.token.id), 'no token id in any label');
  t.notOk(text.includes('nobody'), 'no user name in any label');
});

t.test('build info and the error series exist from the start', async (t) => {
  const text = await scrape();
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  t.equal(value(text, `tollgate_build_info{version="${version}",node="${process.version}"}`), 1);
  for (const op of ['getToken', 'touchLastUsed', 'authenticate']) t.equal(value(text, `tollgate_store_errors_total{op="${op}"}`), 0, op);
  for (const reason of ['refused', 'reset', 'timeout', 'other']) t.equal(value(text, `tollgate_upstream_errors_total{reason="${reason}"}`), 0, reason);
});

t.test('metricsAuth: true takes any token with the admin right, star or scoped, and no other', async (t) => {
  const guarded = await startHarness({ config: { admin: { metricsAuth: true } } });
  t.teardown(() => guarded.close());
  const metricsWith = async (secret?: string) => (await call(guarded, 'GET', '/metrics', secret)).status;
  const scoped = await guarded.token(['admin'], 'sensors');
  const reader = await guarded.token(['query', 'stream', 'modify', 'delete'], '*');
  t.equal(await metricsWith(), 401);
  t.equal(await metricsWith(reader.secret), 403, 'every right but admin is not enough');
  t.equal(await metricsWith(guarded.adminSecret), 200);
  t.equal(await metricsWith(scoped.secret), 200);
  t.equal((await call(h, 'GET', '/metrics', undefined)).status, 200, 'metricsAuth: false (the default) asks no token');
});
