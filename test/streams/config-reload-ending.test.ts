import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import t from 'tap';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// A reload that changes the routes judges every open exchange again (docs/configuration.md,
// "Reloading"): one the new routes still allow carries on, one they no longer allow ends like a
// revoked one, counted as reason config. The upstream serves a WebSocket echo and event streams
// it writes to on demand.
const upstreamSockets: Array<{ closed: boolean; code?: number }> = [];
const downloads: Array<{ res: ServerResponse; closed: boolean }> = [];
const h = await startHarness({
  upstream: (_req, res) => {
    const download = { res, closed: false };
    downloads.push(download);
    res.on('close', () => (download.closed = true));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
  },
});
t.teardown(() => h.close());
const wss = new WebSocketServer({ noServer: true });
h.upstream.server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    const record: (typeof upstreamSockets)[number] = { closed: false };
    upstreamSockets.push(record);
    ws.on('message', (data) => ws.send(data));
    socket.on('close', () => (record.closed = true));
    ws.on('close', (code) => (record.code = code));
  });
});

const STREAM_ROUTE = { path: '/v1/repositories/:repository/stream', methods: { POST: 'stream', PUT: 'stream', WEBSOCKET: 'stream' } };
const EVENTS_ROUTE = { path: '/v1/repositories/:repository/events', tokenIn: ['header', 'query'] };
const REST_ROUTE = { path: '/v1/repositories/:repository/**' };

/** The harness's configuration with `routes`, as a reload would read it from a file. */
const withRoutes = (routes: unknown[]) =>
  validate(
    merge(
      merge(DEFAULTS, {
        proxy: { listen: '127.0.0.1:0', upstream: h.upstream.origin, accessLog: false },
        admin: { listen: '127.0.0.1:0' },
        store: { backend: 'memory' },
        log: { level: 'silent' },
      }),
      { routes },
    ),
  );

async function openSocket(secret: string) {
  const ws = new WebSocket(`${h.proxy.replace('http', 'ws')}/v1/repositories/sensors/stream`, { headers: bearer(secret) });
  await once(ws, 'open');
  const closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  await echoed(ws, 'ping');
  return { ws, closed, upstream: upstreamSockets.at(-1)! };
}

async function echoed(ws: WebSocket, text: string): Promise<string> {
  const reply = once(ws, 'message');
  ws.send(text);
  return String((await reply)[0]);
}

/** An event stream that has begun; `next()` has the upstream write one more event and waits for it. */
async function openDownload(url: string, headers: Record<string, string>) {
  const res = await request(url, { headers });
  const chunks: string[] = [];
  const ended = new Promise<string>((resolve) => {
    res.body.on('error', (err) => resolve(`error: ${(err as Error).message}`));
    res.body.on('end', () => resolve('end'));
  });
  res.body.on('data', (chunk: Buffer) => chunks.push(String(chunk)));
  await waitFor(() => chunks.join('').includes('first'), { what: 'the first event' });
  const upstream = downloads.at(-1)!;
  return {
    ended,
    upstream,
    async next(text: string) {
      upstream.res.write(`data: ${text}\n\n`);
      await waitFor(() => chunks.join('').includes(text), { what: `the event "${text}" through Tollgate` });
    },
  };
}

const metric = async (name: string) => {
  const text = await (await request(`${h.admin}/metrics`)).body.text();
  return Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

t.test('routes changed elsewhere: an open WebSocket and download carry on, nothing is ended', async (t) => {
  const token = await h.token(['stream', 'query']);
  const socket = await openSocket(token.secret);
  const download = await openDownload(`${h.proxy}/v1/repositories/sensors/events`, bearer(token.secret));
  const generation = h.tollgate.reloader.generation;
  const result = h.tollgate.reloader.apply(withRoutes([{ path: '/extra/**', public: true }, STREAM_ROUTE, EVENTS_ROUTE, REST_ROUTE]));
  t.same([result.outcome, result.applied], ['applied', ['routes']]);
  t.equal(h.tollgate.reloader.generation, generation + 1);
  t.equal(await echoed(socket.ws, 'after the reload'), 'after the reload', 'the WebSocket still relays both ways');
  await download.next('second');
  t.equal(await metric('tollgate_exchanges_ended_total{reason="config"}'), 0);
  t.equal(await metric('tollgate_config_generation'), generation + 1);
  t.equal((await request(`${h.proxy}/extra/x`)).statusCode, 200, 'the new route answers');
  socket.ws.close();
  download.upstream.res.end();
  t.equal(await download.ended, 'end');
});

t.test('a route that loses the right: the WebSocket gets 1008 and the download is cut, reason config', async (t) => {
  h.tollgate.reloader.apply(withRoutes([STREAM_ROUTE, EVENTS_ROUTE, REST_ROUTE]));
  const ended = await metric('tollgate_exchanges_ended_total{reason="config"}');
  const token = await h.token(['stream', 'query']);
  const socket = await openSocket(token.secret);
  const download = await openDownload(`${h.proxy}/v1/repositories/sensors/events`, bearer(token.secret));
  // A WebSocket on the stream route now needs modify; the events route is gone and a GET under
  // the repository now needs delete: the token holds neither.
  h.tollgate.reloader.apply(
    withRoutes([
      { ...STREAM_ROUTE, methods: { WEBSOCKET: 'modify' } },
      { ...REST_ROUTE, methods: { GET: 'delete' } },
    ]),
  );
  t.same(await socket.closed, { code: 1008, reason: 'route changed' }, 'the client saw the close frame');
  t.match(await download.ended, /^error/, 'the download was cut, not ended as if whole');
  await waitFor(() => socket.upstream.closed, { what: 'the upstream WebSocket to close' });
  t.equal(socket.upstream.code, 1008, 'the upstream got the close frame too');
  await waitFor(() => download.upstream.closed, { what: 'the upstream download request to be aborted' });
  t.equal(await metric('tollgate_exchanges_ended_total{reason="config"}'), ended + 2);
  t.equal(await metric('tollgate_live_exchanges{protocol="websocket"}'), 0);
  t.equal(await metric('tollgate_live_exchanges{protocol="http"}'), 0);
});

t.test('a route that stops taking the token from the query ends the download that brought it there', async (t) => {
  h.tollgate.reloader.apply(withRoutes([STREAM_ROUTE, EVENTS_ROUTE, REST_ROUTE]));
  const token = await h.token(['query']);
  const byQuery = await openDownload(`${h.proxy}/v1/repositories/sensors/events?access_token=${token.secret}`, {});
  const byHeader = await openDownload(`${h.proxy}/v1/repositories/sensors/events`, bearer(token.secret));
  h.tollgate.reloader.apply(withRoutes([STREAM_ROUTE, { ...EVENTS_ROUTE, tokenIn: ['header'] }, REST_ROUTE]));
  t.match(await byQuery.ended, /^error/, 'the token came from the query, which the route no longer reads');
  await byHeader.next('still here');
  byHeader.upstream.res.end();
  t.equal(await byHeader.ended, 'end');
});

t.test('a route that stops being public ends the download opened on it without a token', async (t) => {
  h.tollgate.reloader.apply(withRoutes([{ path: '/open/**', public: true }, STREAM_ROUTE, EVENTS_ROUTE, REST_ROUTE]));
  const ended = await metric('tollgate_exchanges_ended_total{reason="config"}');
  const open = await openDownload(`${h.proxy}/open/events`, {});
  h.tollgate.reloader.apply(withRoutes([{ path: '/open/**', public: true, methods: { POST: 'stream' } }, STREAM_ROUTE, EVENTS_ROUTE, REST_ROUTE]));
  await open.next('public still');
  h.tollgate.reloader.apply(withRoutes([{ path: '/open/**' }, STREAM_ROUTE, EVENTS_ROUTE, REST_ROUTE]));
  t.match(await open.ended, /^error/, 'it now needs a token it never had');
  t.equal(await metric('tollgate_exchanges_ended_total{reason="config"}'), ended + 1);
});

/** An HTTP/2 GET on `session` whose first event arrived; `closed` resolves with its RST code. */
async function openStream(session: ClientHttp2Session, path: string, secret: string) {
  const stream = session.request({ ':path': path, ...bearer(secret) });
  stream.on('error', () => {});
  const received: string[] = [];
  stream.on('data', (chunk: Buffer) => received.push(String(chunk)));
  await waitFor(() => received.join('').includes('first'), { what: `the first event on ${path}` });
  const upstream = downloads.at(-1)!;
  const closed = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? -1)));
  return { received, upstream, closed };
}

t.test('HTTP/2: the stream that loses its right is reset, its sibling on the same connection carries on', async (t) => {
  h.tollgate.reloader.apply(withRoutes([STREAM_ROUTE, EVENTS_ROUTE, REST_ROUTE]));
  const token = await h.token(['query']);
  const session = connect(h.proxy);
  t.teardown(() => session.close());
  const losing = await openStream(session, '/v1/repositories/sensors/events', token.secret);
  const keeping = await openStream(session, '/v1/repositories/sensors/feed', token.secret);
  h.tollgate.reloader.apply(withRoutes([STREAM_ROUTE, { ...EVENTS_ROUTE, methods: { GET: 'delete' } }, REST_ROUTE]));
  t.equal(await losing.closed, constants.NGHTTP2_CANCEL, 'reset, not ended as if whole');
  keeping.upstream.res.write('data: second\n\n');
  await waitFor(() => keeping.received.join('').includes('second'), { what: 'the sibling stream to carry on' });
  t.notOk(session.closed || session.destroyed, 'the connection stayed open');
  const third = await openStream(session, '/v1/repositories/sensors/other', token.secret);
  third.upstream.res.end();
  keeping.upstream.res.end();
  t.equal(await keeping.closed, constants.NGHTTP2_NO_ERROR);
});
