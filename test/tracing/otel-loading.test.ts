import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

// OpenTelemetry is imported only when telemetry.otlp.endpoint is set: a proxy replica without it
// (the slim role, whose footprint is measured) never loads the SDK. Checked in a child process
// running the build's proxy role, with a resolve hook that notes every module imported.
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const script = (endpoint: string) => `
import { registerHooks } from 'node:module';
const imported = new Set();
registerHooks({ resolve(specifier, context, next) { imported.add(specifier); return next(specifier, context); } });
const { startReplica } = await import(${JSON.stringify(`${DIST}app.js`)});
const { merge, validate } = await import(${JSON.stringify(`${DIST}config/load.js`)});
const { DEFAULTS } = await import(${JSON.stringify(`${DIST}config/defaults.js`)});
const { MemoryStore } = await import(${JSON.stringify(`${DIST}store/memory-store.js`)});
const { createLogger } = await import(${JSON.stringify(`${DIST}log/logger.js`)});
const config = validate(merge(DEFAULTS, { role: 'proxy', proxy: { listen: '127.0.0.1:0' }, admin: { listen: '127.0.0.1:0' }, store: { backend: 'memory' }, telemetry: { otlp: { endpoint: ${JSON.stringify(endpoint)} } } }));
const replica = await startReplica(config, new MemoryStore(), createLogger('silent'), { now: () => Date.now() });
const proxied = await fetch('http://127.0.0.1:' + replica.proxyPort + '/health');
await proxied.arrayBuffer();
process.stdout.write(JSON.stringify({ otel: [...imported].filter((name) => name.startsWith('@opentelemetry/')).sort(), tracing: [...new Set([...imported].filter((name) => name.includes('tracing')).map((name) => name.replace(/^.*\\//, '')))].sort() }));
await replica.shutdown(0);
process.exit(0);
`;

function run(t: Test, endpoint: string): Promise<{ otel: string[]; tracing: string[] }> {
  const path = join(t.testdir({}), 'start.mjs');
  writeFileSync(path, script(endpoint));
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // tap's loaders would import much else
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [path], { env, timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as { otel: string[]; tracing: string[] }),
    ),
  );
}

t.test('the proxy role with no endpoint imports nothing of OpenTelemetry', async (t) => {
  const loaded = await run(t, '');
  // prom-client requires the API package itself (lib/metrics/processCpuTotal.js, for exemplars), so
  // it was loaded before traces existed; nothing else of OpenTelemetry is.
  t.same(loaded.otel, ['@opentelemetry/api']);
  t.same(
    loaded.tracing,
    ['start-tracing.js', 'tracing-slot.js', 'tracing.js'],
    'only the interface, its no-op and the slot a reload swaps, never otel-tracing.js',
  );
});

t.test('with an endpoint, the SDK is imported at start', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const loaded = await run(t, receiver.endpoint);
  t.ok(loaded.otel.includes('@opentelemetry/sdk-trace'), 'the SDK');
  t.ok(loaded.otel.includes('@opentelemetry/exporter-trace-otlp-http'), 'the OTLP/HTTP exporter');
  t.ok(loaded.tracing.includes('otel-tracing.js'));
});
