import { Histogram, Registry } from 'prom-client';
import t from 'tap';
import { FastHistogram } from '../../src/metrics/fast-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
// On the bounds, between them, above all of them, and zero.
const SAMPLES = [0, 0.001, 0.0005, 0.005, 0.01, 0.011, 0.1, 0.5, 1, 1.5, 30];

function pair(labelNames: string[]) {
  const reference = new Registry();
  const fast = new Registry();
  const config = { name: 'h_seconds', help: 'A histogram.', buckets: BUCKETS, labelNames };
  return {
    reference,
    fast,
    prom: new Histogram({ ...config, registers: [reference] }),
    ours: new FastHistogram({ ...config, registers: [fast] }),
  };
}

t.test('exposition matches prom-client for the same observations (labelled series)', async (t) => {
  const { reference, fast, prom, ours } = pair(['right']);
  const query = ours.series({ right: 'query' });
  const stream = ours.series({ right: 'stream' });
  ours.series({ right: 'delete' }); // never observed: absent, as prom-client leaves it
  for (const value of SAMPLES) {
    prom.observe({ right: 'query' }, value);
    query.observe(value);
  }
  prom.observe({ right: 'stream' }, 0.02);
  stream.observe(0.02);
  const text = await fast.metrics();
  t.equal(text, await reference.metrics());
  t.notMatch(text, /right="delete"/);
  t.match(text, /^h_seconds_bucket\{le="0.01",right="query"\} 5$/m);
  t.match(text, /^h_seconds_bucket\{le="\+Inf",right="query"\} 11$/m);
  const values = async (registry: Registry) =>
    (await registry.getMetricsAsJSON())[0]!.values.map((v) => ({ name: (v as { metricName?: string }).metricName, labels: v.labels, value: v.value }));
  t.same(await values(fast), await values(reference), 'the same values through getMetricsAsJSON');
});

t.test('an unlabelled histogram is exposed before its first observation, like prom-client', async (t) => {
  const { reference, fast, prom, ours } = pair([]);
  const series = ours.series();
  t.equal(await fast.metrics(), await reference.metrics());
  t.match(await fast.metrics(), /^h_seconds_count 0$/m);
  for (const value of SAMPLES) {
    prom.observe(value);
    series.observe(value);
  }
  t.equal(await fast.metrics(), await reference.metrics());
});

t.test('reset zeroes every series', async (t) => {
  const { fast, ours } = pair([]);
  const series = ours.series();
  series.observe(0.5);
  ours.reset();
  t.match(await fast.metrics(), /^h_seconds_count 0$/m);
  t.match(await fast.metrics(), /^h_seconds_sum 0$/m);
  t.match(await fast.metrics(), /^h_seconds_bucket\{le="1"\} 0$/m);
});
