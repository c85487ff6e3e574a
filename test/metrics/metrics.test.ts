import t from 'tap';
import { Metrics } from '../../src/metrics/metrics.js';

const sources = { cacheEntries: () => 3, isStoreUp: async () => true, tokenCounts: async () => [], expiringSoon: async () => ({ repository: 0, personal: 0 }) };
const line = (text: string, series: string) => {
  const escaped = series.replace(/[{}"+.]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text)?.[1]);
};

t.test('hot-path counts reach the exposition once, however often it is scraped', async (t) => {
  const metrics = new Metrics(sources);
  const scrape = () => metrics.registry.metrics();
  metrics.requestStarted();
  metrics.requestStarted();
  metrics.requestStarted();
  metrics.request('query', 'allowed', 0.002);
  metrics.request('none', 'unauthenticated', 0.0001);
  metrics.forwarded(0.001, 10, 1000);
  metrics.hit();
  metrics.miss();
  let text = await scrape();
  t.equal(line(text, 'tollgate_inflight_requests'), 1, 'one still in flight');
  t.equal(line(text, 'tollgate_requests_total{right="query",outcome="allowed",credential="none"}'), 1);
  t.equal(line(text, 'tollgate_requests_total{right="none",outcome="unauthenticated",credential="none"}'), 1);
  t.equal(line(text, 'tollgate_request_bytes_total'), 10);
  t.equal(line(text, 'tollgate_response_bytes_total'), 1000);
  t.equal(line(text, 'tollgate_cache_hits_total'), 1);
  t.equal(line(text, 'tollgate_cache_misses_total'), 1);
  t.equal(line(text, 'tollgate_request_duration_seconds_count{right="query"}'), 1);
  t.equal(line(text, 'tollgate_upstream_duration_seconds_bucket{le="0.001"}'), 1);
  t.equal(line(text, 'tollgate_cache_entries'), 3);

  text = await scrape();
  t.equal(line(text, 'tollgate_requests_total{right="query",outcome="allowed",credential="none"}'), 1, 'not counted twice');
  t.equal(line(text, 'tollgate_cache_hits_total'), 1, 'not counted twice');

  metrics.requestAbandoned();
  metrics.requestStarted();
  metrics.request('query', 'allowed', 0.2);
  metrics.forwarded(0.1, 5, 0);
  metrics.hit();
  text = await scrape();
  t.equal(line(text, 'tollgate_inflight_requests'), 0);
  t.equal(line(text, 'tollgate_requests_total{right="query",outcome="allowed",credential="none"}'), 2, 'later counts add up');
  t.equal(line(text, 'tollgate_request_bytes_total'), 15);
  t.equal(line(text, 'tollgate_cache_hits_total'), 2);
  t.equal(line(text, 'tollgate_request_duration_seconds_sum{right="query"}'), 0.202);
});

t.test('auth lookups are timed by source', async (t) => {
  const metrics = new Metrics(sources);
  metrics.lookup('cache', 0.000002);
  metrics.lookup('negative', 0.000003);
  metrics.lookup('store', 0.002);
  metrics.lookup('store', 0.003);
  const text = await metrics.registry.metrics();
  t.equal(line(text, 'tollgate_auth_duration_seconds_count{source="cache"}'), 1);
  t.equal(line(text, 'tollgate_auth_duration_seconds_count{source="negative"}'), 1);
  t.equal(line(text, 'tollgate_auth_duration_seconds_count{source="store"}'), 2);
  t.equal(line(text, 'tollgate_auth_duration_seconds_bucket{le="0.00001",source="cache"}'), 1);
});

t.test('the certificate expiry is absent without TLS, not 0, and follows the certificate served', async (t) => {
  let expiry: number | undefined;
  const metrics = new Metrics({ ...sources, certificateExpiry: () => expiry });
  t.notMatch(await metrics.registry.metrics(), /^tollgate_tls_certificate_expiry_timestamp_seconds /m, 'no sample without TLS');
  expiry = 1_900_000_000;
  t.equal(line(await metrics.registry.metrics(), 'tollgate_tls_certificate_expiry_timestamp_seconds'), 1_900_000_000);
  expiry = undefined;
  t.notMatch(await metrics.registry.metrics(), /^tollgate_tls_certificate_expiry_timestamp_seconds /m, 'gone again when TLS is turned off');
});

t.test('WebSockets and gRPC calls are timed as streams, not in the request histogram', async (t) => {
  const metrics = new Metrics(sources);
  for (let i = 0; i < 3; i++) metrics.requestStarted();
  metrics.request('stream', 'allowed', 5400, 'token', 'websocket');
  metrics.request('query', 'allowed', 30, 'token', 'grpc');
  metrics.request('query', 'allowed', 0.003, 'token', 'http');
  const text = await metrics.registry.metrics();
  t.equal(line(text, 'tollgate_live_exchange_duration_seconds_bucket{le="7200",protocol="websocket"}'), 1, 'a 90-minute WebSocket in the 2 h bucket');
  t.equal(line(text, 'tollgate_live_exchange_duration_seconds_bucket{le="3600",protocol="websocket"}'), 0);
  t.equal(line(text, 'tollgate_live_exchange_duration_seconds_count{protocol="grpc"}'), 1);
  t.equal(line(text, 'tollgate_request_duration_seconds_count{right="query"}'), 1, 'only the plain request');
  t.notMatch(text, /^tollgate_request_duration_seconds_count\{right="stream"\}/m);
  t.equal(line(text, 'tollgate_requests_total{right="stream",outcome="allowed",credential="token"}'), 1, 'still counted as a request');
});

t.test('admin durations are by operation, whatever the route', async (t) => {
  const metrics = new Metrics(sources);
  metrics.adminRequest('GET /v1/tokens/{id}', 200, 0.002);
  metrics.adminRequest('GET /v1/tokens', 200, 0.03);
  metrics.adminRequest('POST /v1/tokens', 201, 0.2);
  metrics.adminRequest('unmatched', 404, 0.001);
  const text = await metrics.registry.metrics();
  t.equal(line(text, 'tollgate_admin_request_duration_seconds_count{operation="read"}'), 2);
  t.equal(line(text, 'tollgate_admin_request_duration_seconds_count{operation="write"}'), 2);
  t.equal(text.match(/^tollgate_admin_request_duration_seconds_bucket/gm)?.length, 14, 'two series of six buckets and +Inf');
  t.equal(line(text, 'tollgate_admin_requests_total{route="GET /v1/tokens/{id}",status="200"}'), 1, 'routes stay on the counter');
});

t.test('added latency: from the request head to forwarding it', async (t) => {
  const metrics = new Metrics(sources);
  metrics.decided(performance.now());
  metrics.decided(performance.now() - 2000);
  const text = await metrics.registry.metrics();
  t.equal(line(text, 'tollgate_added_latency_seconds_count'), 2);
  t.equal(line(text, 'tollgate_added_latency_seconds_bucket{le="1"}'), 1, 'two seconds is above the top bucket');
  t.ok(line(text, 'tollgate_added_latency_seconds_sum') >= 2);
});
