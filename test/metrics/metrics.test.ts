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
