import { createConnection, type Socket } from 'node:net';
import t from 'tap';
import { DEFAULTS } from '../../src/config/defaults.js';
import { validate } from '../../src/config/load.js';
import { startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// The admin port's own slowloris bounds: admin.timeouts.headers for the head, admin.timeouts.request
// for the whole request, body included; past either the client gets 408 and the connection ends.

/** Writes `first`, then one byte of `rest` every `everyMs` until the server closes; resolves what it answered. */
function trickle(port: number, first: string, rest: string, everyMs: number): { done: Promise<{ text: string; ms: number }>; socket: Socket } {
  const socket = createConnection({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  const started = performance.now();
  let answer = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.write(first);
  let at = 0;
  const timer = setInterval(() => {
    if (at < rest.length) socket.write(rest[at++]!);
  }, everyMs);
  const done = waitFor(() => closed, { what: 'the admin port to end the connection', timeoutMs: 8000 })
    .then(() => ({ text: answer, ms: performance.now() - started }))
    .finally(() => clearInterval(timer));
  return { done, socket };
}

t.test('a head trickled to the admin port is answered 408 at admin.timeouts.headers', async (t) => {
  const h = await startHarness({ config: { admin: { timeouts: { headers: '500ms', request: '5s' } } } });
  t.teardown(() => h.close());
  const { done, socket } = trickle(h.tollgate.adminPort, 'GET /healthz HTTP/1.1\r\nhost: admin\r\n', `x-slow: ${'a'.repeat(100)}`, 100);
  t.teardown(() => socket.destroy());
  const { text, ms } = await done;
  t.match(text, /^HTTP\/1\.1 408 /);
  t.ok(ms >= 450 && ms < 2000, `at about the deadline (${Math.round(ms)} ms)`);
});

t.test('a body trickled to the admin port is answered 408 at admin.timeouts.request', async (t) => {
  const h = await startHarness({ config: { admin: { timeouts: { headers: '500ms', request: '1s' } } } });
  t.teardown(() => h.close());
  const head = 'POST /v1/tokens/leaked HTTP/1.1\r\nhost: admin\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n';
  const { done, socket } = trickle(h.tollgate.adminPort, head, ' '.repeat(1000), 100);
  t.teardown(() => socket.destroy());
  const { text, ms } = await done;
  t.match(text, /^HTTP\/1\.1 408 /);
  t.ok(ms >= 900 && ms < 3000, `at about the deadline (${Math.round(ms)} ms)`);
});

t.test('the defaults are 10 s for the head and 60 s for the whole request', async (t) => {
  const config = validate(DEFAULTS);
  t.same(config.admin.timeouts, { headers: 10_000, request: 60_000 });
});
