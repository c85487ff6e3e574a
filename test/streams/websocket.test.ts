import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// A real WebSocket upstream (the `ws` package on the harness's node:http server): it echoes
// every message and remembers what it saw of each handshake and when each socket closed.
const seen: Array<{ url: string; protocol: string | undefined; headers: IncomingMessage['headers']; closed: boolean; code?: number }> = [];
const h = await startHarness({
  config: {
    routes: [
      { path: '/v1/repositories/:repository/stream', methods: { POST: 'stream', WEBSOCKET: 'stream' }, tokenIn: ['header', 'protocol'] },
      { path: '/v1/repositories/:repository/events', tokenIn: ['header', 'query'] },
      { path: '/v1/repositories/:repository/**' },
    ],
  },
});
t.teardown(() => h.close());
const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => [...protocols][0] ?? false });
// `?hold`: the upstream reads nothing until the test resumes it, and then only counts bytes.
const held: Array<{ bytes: number; resume(): void }> = [];
h.upstream.server.on('upgrade', (req, socket, head) => {
  if (req.url!.endsWith('?deny')) {
    // An upstream that will not switch: an ordinary answer, passed on as such.
    return void socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nno way');
  }
  if (req.url!.endsWith('?hold')) {
    return wss.handleUpgrade(req, socket, head, (ws) => {
      const record = { bytes: 0, resume: () => socket.resume() };
      held.push(record);
      ws.on('message', (data: Buffer) => (record.bytes += data.length));
      socket.pause();
    });
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const record: (typeof seen)[number] = { url: req.url!, protocol: req.headers['sec-websocket-protocol'], headers: req.headers, closed: false };
    seen.push(record);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code) => {
      record.closed = true;
      record.code = code;
    });
  });
});

const wsUrl = (path: string) => `${h.proxy.replace('http', 'ws')}${path}`;
const STREAM = '/v1/repositories/sensors/stream';

/** Opens a WebSocket through Tollgate; resolves when open, or with the refusal's status and body. */
function open(path: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}) {
  const ws = new WebSocket(wsUrl(path), options.protocols ?? [], { headers: options.headers });
  return new Promise<{ ws: WebSocket; status: number; body: string; headers: IncomingMessage['headers'] }>((resolve, reject) => {
    ws.once('open', () => resolve({ ws, status: 101, body: '', headers: {} }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve({ ws, status: res.statusCode!, body, headers: res.headers }));
    });
    ws.once('error', reject);
  });
}

const echoOnce = async (ws: WebSocket, text: string) => {
  const reply = once(ws, 'message');
  ws.send(text);
  return String((await reply)[0]);
};

const closeOf = (ws: WebSocket) => once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));

t.test('a WebSocket with a token holding the WEBSOCKET right echoes through', async (t) => {
  const token = await h.token(['stream']);
  const { ws, status } = await open(STREAM, { headers: bearer(token.secret) });
  t.equal(status, 101);
  t.equal(await echoOnce(ws, 'hello'), 'hello');
  const upstream = seen.at(-1)!;
  t.equal(upstream.headers['x-tollgate-token-id'], token.token.id, 'the upstream learns who');
  t.equal(upstream.headers['x-tollgate-right'], 'stream');
  t.equal(upstream.headers.authorization, undefined, 'and never the token');
  ws.close();
  await closeOf(ws);
});

t.test('refused upgrades get their problem and reach nothing', async (t) => {
  const before = seen.length;
  const none = await open(STREAM);
  t.equal(none.status, 401);
  t.match(JSON.parse(none.body), { type: '/problems/missing-token' });
  const weak = await h.token(['query']);
  const forbidden = await open(STREAM, { headers: bearer(weak.secret) });
  t.equal(forbidden.status, 403, 'the GET right (query) is not the WEBSOCKET right (stream)');
  t.equal(seen.length, before, 'the upstream saw no handshake');
});

t.test("the upstream's refusal to switch reaches the client as an ordinary response", async (t) => {
  const token = await h.token(['stream']);
  const refused = await open(`${STREAM}?deny`, { headers: bearer(token.secret) });
  t.equal(refused.status, 403);
  t.equal(refused.body, 'no way');
  t.equal(refused.headers.connection, 'close', 'and the connection closes after it');
});

t.test('on a route without a WEBSOCKET entry the upgrade needs the GET right', async (t) => {
  const token = await h.token(['query']);
  const { ws, status } = await open('/v1/repositories/sensors/live', { headers: bearer(token.secret) });
  t.equal(status, 101);
  ws.close();
  await closeOf(ws);
});

t.test('an upgrade to anything but websocket is 400, and the connection closes', async (t) => {
  const token = await h.token(['query']);
  const socket = connect(h.tollgate.proxyPort, '127.0.0.1');
  socket.write(
    `GET /v1/repositories/sensors/x HTTP/1.1\r\nhost: a\r\nauthorization: Bearer ${token.secret}\r\nconnection: upgrade, http2-settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`,
  );
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  await once(socket, 'close');
  t.match(text, /^HTTP\/1\.1 400 /);
  t.match(text, /\/problems\/unsupported-upgrade/);
});

t.test('a token in the subprotocol list is taken out before the upstream sees the list', async (t) => {
  const token = await h.token(['stream']);
  const { ws, status } = await open(STREAM, { protocols: [`tollgate.bearer.${token.secret}`, 'telemetry.v1'] });
  t.equal(status, 101);
  t.equal(ws.protocol, 'telemetry.v1', 'the upstream chose from what was left');
  t.equal(seen.at(-1)!.protocol, 'telemetry.v1', 'the token never reached the upstream');
  t.equal(await echoOnce(ws, 'x'), 'x');
  ws.close();
  await closeOf(ws);
  const elsewhere = await open('/v1/repositories/sensors/live', { protocols: [`tollgate.bearer.${token.secret}`, 'telemetry.v1'] });
  t.equal(elsewhere.status, 401, 'a route that does not name `protocol` does not read it');
});

t.test('a token in two places is 400', async (t) => {
  const token = await h.token(['stream']);
  const both = await open(STREAM, { headers: bearer(token.secret), protocols: [`tollgate.bearer.${token.secret}`, 'telemetry.v1'] });
  t.equal(both.status, 400);
  t.match(JSON.parse(both.body), { type: '/problems/token-in-two-places' });
  const query = await request(`${h.proxy}/v1/repositories/sensors/events?access_token=${token.secret}`, { headers: bearer(token.secret) });
  t.equal(query.statusCode, 400);
  t.notOk((await query.body.text()).includes(token.secret), 'the body never echoes the token');
});

t.test('a query token works only where the route allows it, and never reaches the upstream', async (t) => {
  const token = await h.token(['query']);
  const res = await request(`${h.proxy}/v1/repositories/sensors/events?from=1&access_token=${token.secret}&to=2`);
  t.equal(res.statusCode, 200);
  await res.body.dump();
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  const received = h.upstream.received.at(-1)!;
  t.equal(received.url, '/v1/repositories/sensors/events?from=1&to=2', 'the parameter is gone, the others stay in order');
  t.equal(received.headers['x-tollgate-token-id'], token.token.id);
  const only = await request(`${h.proxy}/v1/repositories/sensors/events?access_token=${token.secret}`);
  await only.body.dump();
  t.equal(only.statusCode, 200);
  t.equal(h.upstream.received.at(-1)!.url, '/v1/repositories/sensors/events', 'an emptied query loses its ?');
  const elsewhere = await request(`${h.proxy}/v1/repositories/sensors/query?access_token=${token.secret}`);
  await elsewhere.body.dump();
  t.equal(elsewhere.statusCode, 401, 'the default route reads the header only');
});

t.test('64 MiB through a WebSocket whose upstream stops reading: Tollgate holds back, then all arrives', async (t) => {
  const token = await h.token(['stream']);
  const { ws } = await open(`${STREAM}?hold`, { headers: bearer(token.secret) });
  const upstream = held.at(-1)!;
  const message = Buffer.alloc(256 * 1024, 7);
  const total = 64 * 1024 * 1024;
  for (let sent = 0; sent < total; sent += message.length) ws.send(message);
  // The upstream reads nothing: once every buffer on the way is full the client can write no more.
  let last = -1;
  let steady = 0;
  await waitFor(
    () => {
      steady = ws.bufferedAmount === last ? steady + 1 : 0;
      last = ws.bufferedAmount;
      return steady >= 5;
    },
    { what: 'the client to stop moving bytes', everyMs: 40, timeoutMs: 10_000 },
  );
  const inFlightMiB = (total - ws.bufferedAmount) / 1024 / 1024;
  t.ok(inFlightMiB < 32, `${inFlightMiB.toFixed(1)} MiB left the client before backpressure held it (kernel buffers both hops plus Tollgate's reads)`);
  upstream.resume();
  await waitFor(() => upstream.bytes >= total, { what: 'every byte to reach the upstream', timeoutMs: 20_000 });
  t.equal(upstream.bytes, total);
  ws.close();
});
