import t from 'tap';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { parseTraceparent, SERVER, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { waitFor } from '../helpers/wait-for.js';

// `telemetry` reloads (docs/configuration.md, "Reloading"): a replica started with tracing off
// traces exchanges begun after a reload that sets an endpoint, and stops after one that clears it.
const receiver = await startOtlpReceiver();
t.teardown(() => receiver.close());
const h = await startHarness();
t.teardown(() => h.close());
const token = await h.token(['query']);
const withTelemetry = (endpoint: string) =>
  validate(
    merge(DEFAULTS, {
      proxy: { listen: '127.0.0.1:0', upstream: h.upstream.origin, accessLog: false },
      admin: { listen: '127.0.0.1:0' },
      store: { backend: 'memory' },
      log: { level: 'silent' },
      telemetry: { otlp: { endpoint }, sampleRatio: 1 },
    }),
  );
const get = async () => {
  const res = await fetch(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(token.secret) });
  await res.arrayBuffer();
  return h.upstream.received.at(-1)!.headers.traceparent as string | undefined;
};

t.test('off at start: no traceparent is made up', async (t) => {
  t.equal(await get(), undefined);
});

t.test('a reload that sets an endpoint: exchanges from then on are traced', async (t) => {
  t.same(h.tollgate.reloader.apply(withTelemetry(receiver.endpoint)).applied, ['telemetry.otlp.endpoint', 'telemetry.sampleRatio']);
  // The SDK is imported when the reload applies: the next exchange after it is traced.
  let sent: string | undefined;
  await waitFor(
    async () => {
      sent = await get();
      return sent !== undefined;
    },
    { what: 'a traceparent after the reload' },
  );
  const traceId = parseTraceparent(sent)!.traceId;
  // Clearing the endpoint shuts the exporter down, which sends what it holds.
  h.tollgate.reloader.apply(withTelemetry(''));
  await waitFor(() => receiver.spans.some((span) => span.traceId === traceId && span.kind === SERVER), { what: 'the span of the traced exchange' });
  await waitFor(async () => (await get()) === undefined, { what: 'tracing off again' });
});
