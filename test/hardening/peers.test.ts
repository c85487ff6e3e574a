import { createConnection, type Socket } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1 << 20;
const connect = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

t.test('slowloris: headers that never finish are cut off at the headers timeout with 408', async (t) => {
  const h = await startHarness({ config: { proxy: { timeouts: { headers: '300ms' } } } });
  t.teardown(() => h.close());
  const socket = await connect(h.tollgate.proxyPort);
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString()));
  socket.write('GET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  await closed(socket);
  t.match(text, /^HTTP\/1\.1 408 /);
  t.equal(h.upstream.received.length, 0);
});

t.test('a client that stops reading a download holds the upstream back (backpressure), it does not buffer', async (t) => {
  let sent = 0;
  let stalled = false;
  const h = await startHarness({
    upstream: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(MiB);
      const pump = () => {
        while (sent < 512 * MiB) {
          sent += MiB;
          if (!res.write(chunk)) {
            stalled = true;
            res.once('drain', () => {
              stalled = false;
              pump();
            });
            return;
          }
        }
        res.end();
      };
      pump();
    },
  });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const socket = await connect(h.tollgate.proxyPort);
  socket.pause(); // never reads
  socket.write(`GET /v1/repositories/sensors/big HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer(token.secret).authorization}\r\n\r\n`);
  await waitFor(() => stalled, { what: 'the upstream to be held back' });
  // Buffers along the way fill up first; then the amount sent must stop growing.
  let last = -1;
  await waitFor(
    () => {
      const isSteady = stalled && sent === last;
      last = sent;
      return isSteady;
    },
    { what: 'a steady stall', everyMs: 300 },
  );
  t.ok(sent < 64 * MiB, `upstream stopped after ${sent / MiB} MiB of 512`);
  socket.destroy();
});

t.test('a thousand clients aborting mid-upload leave no request, socket or upstream connection behind', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const token = await h.token(['stream']);
  const head = `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer(token.secret).authorization}\r\nContent-Length: ${MiB}\r\n\r\n`;
  const partial = Buffer.alloc(16 * 1024, 1);
  for (let round = 0; round < 50; round++) {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const socket = await connect(h.tollgate.proxyPort);
        socket.write(head);
        socket.write(partial);
        await new Promise((r) => setImmediate(r));
        socket.destroy();
      }),
    );
  }
  const inflight = async () => /^tollgate_inflight_requests (\d+)$/m.exec(await (await request(`${h.admin}/metrics`)).body.text())?.[1];
  await waitFor(async () => (await inflight()) === '0', { what: 'no request left in flight', timeoutMs: 10_000 });
  await waitFor(() => h.upstream.received.every((r) => r.aborted), { what: 'every upstream request to be aborted', timeoutMs: 10_000 });
  const upstreamSockets = await new Promise<number>((resolve) => h.upstream.server.getConnections((_, n) => resolve(n)));
  t.ok(upstreamSockets <= h.config.proxy.connections, `${upstreamSockets} upstream sockets: within the pool, none leaked per request`);
  t.ok(h.upstream.received.filter((r) => r.bytes === MiB).length === 0, 'no aborted upload was completed upstream');
});

t.test('an upstream that closes keep-alive sockets at random: every request ends, none hangs', async (t) => {
  const h = await startHarness({
    upstream: (req, res) => {
      req.resume();
      req.on('end', () => {
        res.end('ok');
        if (Math.random() < 0.3) res.once('finish', () => req.socket.end());
      });
    },
  });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const statuses = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    const res = await request(`${h.proxy}/v1/repositories/sensors/q`, { headers: bearer(token.secret), headersTimeout: 5000 });
    await res.body.dump();
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
  }
  t.comment(`statuses: ${JSON.stringify([...statuses])}`);
  t.same(
    [...statuses.keys()].filter((s) => s !== 200 && s !== 502),
    [],
    'only 200 or a clean 502',
  );
  t.ok((statuses.get(200) ?? 0) >= 270, 'and nearly all succeed');
});

t.test('5,000 concurrent connections: beyond proxy.maxConnections they are closed at once; the others keep working', async (t) => {
  const h = await startHarness({ config: { proxy: { maxConnections: 1000 } } });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const sockets: Array<Socket | undefined> = [];
  for (let batch = 0; batch < 10; batch++) {
    sockets.push(...(await Promise.all(Array.from({ length: 500 }, () => connect(h.tollgate.proxyPort).catch(() => undefined)))));
  }
  const open = sockets.filter((s): s is Socket => s !== undefined);
  await waitFor(() => open.filter((s) => !s.destroyed && s.readyState === 'open').length <= 1000, { what: 'the excess to be closed', timeoutMs: 10_000 });
  const alive = open.filter((s) => !s.destroyed && s.readyState === 'open');
  t.ok(alive.length <= 1000, `${alive.length} of 5000 kept`);
  t.ok(alive.length >= 900, 'the allowed ones stay open');
  const reply = await new Promise<string>((resolve) => {
    let text = '';
    alive[0]!.on('data', (chunk) => (text += chunk.toString()));
    alive[0]!.on('close', () => resolve(text));
    alive[0]!.write(`GET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer(token.secret).authorization}\r\nConnection: close\r\n\r\n`);
  });
  t.match(reply, /^HTTP\/1\.1 200 /);
  for (const socket of open) socket.destroy();
});

t.test('a client that leaves while its token is being looked up is not forwarded', async (t) => {
  const { CountingStore } = await import('../helpers/fakes.js');
  const store = new CountingStore();
  const h = await startHarness({ store });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  let open!: () => void;
  store.gate = new Promise((resolve) => (open = resolve));
  const socket = await connect(h.tollgate.proxyPort);
  socket.write(`GET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer(token.secret).authorization}\r\n\r\n`);
  await waitFor(() => store.getTokenCalls === 1, { what: 'the store lookup to start' });
  socket.destroy();
  // Nothing outside the server shows when it has seen the close; a short pause lets it happen first.
  await new Promise((r) => setTimeout(r, 50));
  open();
  const inflight = async () => /^tollgate_inflight_requests (\d+)$/m.exec(await (await request(`${h.admin}/metrics`)).body.text())?.[1];
  await waitFor(async () => (await inflight()) === '0', { what: 'the request to be accounted for' });
  t.equal(h.upstream.received.length, 0);
});

t.test('a client that stalls mid-upload is closed once it has moved no byte for the idle timeout', async (t) => {
  // One minute of idle time on the test's clock: a real-time timer would not fire within the test.
  const h = await startHarness({ config: { proxy: { timeouts: { idle: '1m' } } } });
  t.teardown(() => h.close());
  const token = await h.token(['stream']);
  const socket = await connect(h.tollgate.proxyPort);
  socket.write(
    `POST /v1/repositories/sensors/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer(token.secret).authorization}\r\n` +
      `Content-Length: ${MiB}\r\n\r\n${'x'.repeat(1000)}`,
  );
  await waitFor(() => h.upstream.received.length === 1, { what: 'the upload to reach the upstream' });
  let advanced = 0;
  await waitFor(
    () => {
      h.clock.advance(10_000);
      advanced += 10_000;
      return socket.destroyed || socket.readableEnded;
    },
    { what: 'the stalled connection to be closed', everyMs: 100, timeoutMs: 10_000 },
  );
  t.ok(advanced >= 60_000, `closed only after the idle minute had passed (${advanced / 1000} s on the clock)`);
  await waitFor(() => h.upstream.received[0]!.aborted, { what: 'the upstream request to be aborted' });
  t.pass('the upstream request was aborted too');
});
