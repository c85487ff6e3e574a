import t from 'tap';
import { tracesUrl } from '../../src/tracing/otel-tracing.js';
import { faultsOf, fromYaml } from '../helpers/config.js';

// telemetry (docs/tracing.md): each bad value is one fault naming its key, and a header's
// value (a collector's API key, as a rule) is never echoed back.
t.test('the defaults: tracing off, 1% of new traces, service tollgate', async (t) => {
  const config = fromYaml(t, '');
  t.same(config.telemetry, { otlp: { endpoint: '', headers: {} }, sampleRatio: 0.01, serviceName: 'tollgate' });
});

t.test('a collector with headers, a ratio and a name are taken; the environment sets them too', async (t) => {
  const config = fromYaml(
    t,
    'telemetry:\n  otlp:\n    endpoint: http://otel-collector:4318\n    headers: { x-api-key: k1 }\n  sampleRatio: 0.25\n  serviceName: tollgate-edge\n',
  );
  t.same(config.telemetry, {
    otlp: { endpoint: 'http://otel-collector:4318', headers: { 'x-api-key': 'k1' } },
    sampleRatio: 0.25,
    serviceName: 'tollgate-edge',
  });
  const fromEnv = fromYaml(t, '', {
    TOLLGATE_TELEMETRY_OTLP_ENDPOINT: 'https://collector.example:4318',
    TOLLGATE_TELEMETRY_SAMPLE_RATIO: '1',
    TOLLGATE_TELEMETRY_OTLP_HEADERS: '{authorization: "Bearer k2"}',
  });
  t.same(fromEnv.telemetry.otlp, { endpoint: 'https://collector.example:4318', headers: { authorization: 'Bearer k2' } });
  t.equal(fromEnv.telemetry.sampleRatio, 1);
});

t.test('bad values name their key', async (t) => {
  t.match(
    faultsOf(() => fromYaml(t, 'telemetry:\n  otlp:\n    endpoint: otel-collector:4318\n')),
    [/^telemetry\.otlp\.endpoint: expected "" \(off\) or an http:\/\/ or https:\/\/ URL/],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'telemetry:\n  otlp:\n    endpoint: http://user:pw@collector:4318\n')),
    [/^telemetry\.otlp\.endpoint: /],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'telemetry:\n  sampleRatio: 5\n')),
    ['telemetry.sampleRatio: expected a number from 0 to 1 such as 0.01, got 5'],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'telemetry:\n  sampleRatio: "10%"\n')),
    [/^telemetry\.sampleRatio: /],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'telemetry:\n  serviceName: ""\n')),
    [/^telemetry\.serviceName: /],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'telemetry:\n  otlp:\n    headers: [a]\n')),
    [/^telemetry\.otlp\.headers: expected a map/],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'telemetry:\n  otlp:\n    headers: { "bad name": x }\n')),
    [/^telemetry\.otlp\.headers\."bad name": expected a header name|^telemetry\.otlp\.headers\.bad name: /],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'telemetry:\n  sample: 1\n')),
    [/^telemetry/],
  );
});

t.test("a header's value is never echoed in a fault", async (t) => {
  const faults = faultsOf(() => fromYaml(t, 'telemetry:\n  otlp:\n    headers: { x-api-key: "secret-key\\nmore" }\n'));
  t.match(faults, [/^telemetry\.otlp\.headers\.x-api-key: expected a string without line breaks$/]);
  t.notOk(faults.join('\n').includes('secret-key'));
});

t.test('the endpoint is the base URL: /v1/traces is added unless the path names it', async (t) => {
  t.equal(tracesUrl('http://collector:4318'), 'http://collector:4318/v1/traces');
  t.equal(tracesUrl('http://collector:4318/'), 'http://collector:4318/v1/traces');
  t.equal(tracesUrl('https://gateway.example/otlp'), 'https://gateway.example/otlp/v1/traces');
  t.equal(tracesUrl('https://gateway.example/otlp/v1/traces'), 'https://gateway.example/otlp/v1/traces');
});
