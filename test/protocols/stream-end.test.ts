import { connect, constants } from 'node:http2';
import { type AddressInfo, createServer } from 'node:net';
import t from 'tap';
import { DecisionStep } from '../../src/auth/decide.js';
import { LastUsedRecorder } from '../../src/auth/last-used.js';
import { RouteTable } from '../../src/auth/routes.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { GrpcUpstream } from '../../src/proxy/grpc-upstream.js';
import type { StreamExchange } from '../../src/proxy/http2-exchange.js';
import { Http2Front } from '../../src/proxy/http2-front.js';
import { UpstreamPool } from '../../src/proxy/upstream-pool.js';
import { echoClient, grpc, type Note, startEchoServer } from '../helpers/grpc.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// An open HTTP/2 exchange told to end (its token was revoked, expired, lost the right): what the
// registry of open exchanges will call. The front is built here with its `opened` hook, so the
// test holds each exchange as the registry will.
const echo = await startEchoServer();
let held: import('node:http').ServerResponse | undefined;
const h = await startHarness({
  upstream: (req, res, record) => {
    // Headers now, body never: an open download.
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part');
    held = res;
    req.on('close', () => (record.aborted = true));
  },
  config: { routes: [{ path: '/v1/repositories/:repository/**' }, { path: '/tollgate.test.Echo/**' }] },
});
const opened: StreamExchange[] = [];
const released: StreamExchange[] = [];
const metrics = new Metrics({
  cacheEntries: () => 0,
  isStoreUp: async () => true,
  tokenCounts: async () => [],
  expiringSoon: async () => ({ repository: 0, personal: 0 }),
});
const cache = new TokenCache({
  store: h.tollgate.store,
  clock: h.clock,
  observer: metrics,
  max: 100,
  ttlMs: 30_000,
  negativeMax: 100,
  negativeTtlMs: 5000,
  staleIfErrorMs: 0,
});
const upstream = new UpstreamPool({ url: h.upstream.origin, connections: 4, connectTimeoutMs: 1000, headersTimeoutMs: 5000, idleTimeoutMs: 60_000 });
const grpcUpstream = new GrpcUpstream(`h2c://127.0.0.1:${echo.port}`, 1000);
const front = new Http2Front({
  upstream,
  grpc: grpcUpstream,
  decisions: new DecisionStep({
    cache,
    routes: new RouteTable(h.config.routes),
    lastUsed: new LastUsedRecorder(h.tollgate.store, h.clock, 60_000),
    clock: h.clock,
  }),
  metrics,
  clock: h.clock,
  logger: createLogger('silent'),
  forwardAuthorization: false,
  accessLog: false,
  headersTimeoutMs: 30_000,
  live: { add: (exchange) => void opened.push(exchange as StreamExchange), remove: (exchange) => void released.push(exchange as StreamExchange) },
});
const listener = createServer((socket) => front.accept(socket));
await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
const port = (listener.address() as AddressInfo).port;
t.teardown(async () => {
  front.closeAll();
  front.stop();
  listener.close();
  upstream.close();
  grpcUpstream.close();
  held?.destroy();
  await h.close();
  await echo.close();
});
const token = await h.token(['query', 'stream']);
const client = echoClient(`127.0.0.1:${port}`);
t.teardown(() => client.close());
const metadata = () => {
  const m = new grpc.Metadata();
  m.set('authorization', bearer(token.secret).authorization);
  return m;
};

t.test('a gRPC call ended before its response began gets 16 UNAUTHENTICATED, and the upstream call is cancelled', async (t) => {
  const before = echo.calls.length;
  const status = new Promise<grpc.StatusObject>((resolve) => {
    const call = (client.Hang as unknown as (r: Note, m: grpc.Metadata, cb: grpc.requestCallback<Note>) => grpc.ClientUnaryCall)(
      { text: 'x' },
      metadata(),
      () => {},
    );
    call.on('status', resolve);
  });
  await waitFor(() => echo.calls.length > before, { what: 'the call upstream' });
  const exchange = opened.at(-1)!;
  t.equal(exchange.end('revoked'), true);
  t.equal(exchange.end('revoked'), false, 'ending twice does nothing');
  const got = await status;
  t.equal(got.code, grpc.status.UNAUTHENTICATED);
  t.match(got.details, /revoked/);
  await waitFor(() => echo.calls.at(-1)!.cancelled, { what: 'the upstream to see the cancel' });
  t.equal(exchange.identity?.tokenId, token.token.id, 'the exchange carries the identity it runs as');
  t.equal(released.filter((e) => e === exchange).length, 1, 'released once');
});

t.test('a streaming call ended mid-response gets 7 PERMISSION_DENIED in its trailers', async (t) => {
  const call = (client.Chat as unknown as (m: grpc.Metadata) => grpc.ClientDuplexStream<Note, Note>)(metadata());
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  const first = new Promise<string>((resolve) => call.once('data', (note: Note) => resolve(note.text!)));
  call.write({ text: 'one' });
  t.equal(await first, 'echo one', 'the response has begun');
  opened.at(-1)!.end('rights');
  const got = await status;
  t.equal(got.code, grpc.status.PERMISSION_DENIED);
  await waitFor(() => echo.calls.at(-1)!.cancelled, { what: 'the upstream to see the cancel' });
});

t.test('an HTTP/2 download ended mid-body is reset with CANCEL and its upstream request aborted', async (t) => {
  const session = connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.close());
  const stream = session.request({ ':path': '/v1/repositories/sensors/download', ...bearer(token.secret) });
  const firstBytes = new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  stream.on('error', () => {});
  const closed = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode!)));
  t.equal(await firstBytes, 'first part');
  t.equal(opened.at(-1)!.end('expired'), true);
  t.equal(await closed, constants.NGHTTP2_CANCEL, 'a reset, not an END_STREAM that would pass for a whole body');
  await waitFor(() => h.upstream.received.at(-1)!.aborted, { what: 'the upstream request to be aborted' });
  t.same(new Set(released), new Set(opened), 'every opened exchange was released');
  t.equal(released.length, opened.length, 'each exactly once');
});
