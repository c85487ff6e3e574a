import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../../src/log/logger.js';
import { bearer, startHarness } from '../helpers/harness.js';

// A collector that refuses every export (docs/tracing.md): requests pass as before, one warning
// says the spans were not exported, and it never carries the exporter's headers (a vendor key).
const exports: number[] = [];
const collector = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    exports.push(Date.now());
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":3,"message":"refused"}');
  });
});
await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
t.teardown(
  () =>
    new Promise<void>((resolve) => {
      collector.closeAllConnections();
      collector.close(() => resolve());
    }),
);
const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});
const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
const h = await startHarness({
  logger: createLogger('info', sink),
  config: { telemetry: { otlp: { endpoint, headers: { 'x-api-key': 'vendor-key-123' } }, sampleRatio: 1 } },
});
const token = await h.token(['query']);

t.test('requests pass while the collector refuses; the failure is one warning without the key', async (t) => {
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(token.secret) });
    await res.arrayBuffer();
    t.equal(res.status, 200);
  }
  await h.close(); // sends what is queued: the collector refuses it
  t.ok(exports.length >= 1, 'the collector was asked');
  const warnings = lines.filter((line) => line.msg === 'telemetry: spans not exported');
  t.equal(warnings.length, 1, 'one warning');
  t.equal(warnings[0]!.level, 40);
  t.notOk(JSON.stringify(lines).includes('vendor-key-123'), 'the header value is never logged');
  t.ok(
    lines.some((line) => line.msg === 'telemetry: traces exported over OTLP/HTTP' && line.endpoint === endpoint),
    'the start says where spans go',
  );
});
