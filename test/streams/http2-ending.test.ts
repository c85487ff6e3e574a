import { connect, constants } from 'node:http2';
import t from 'tap';
import { call } from '../helpers/admin-client.js';
import { echoClient, grpc, type Note, startEchoServer } from '../helpers/grpc.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// Revocation ends open HTTP/2 streams and gRPC calls as it ends HTTP/1.1 exchanges: through
// the same registry, wired in the app (not a unit stub).
const echo = await startEchoServer();
const h = await startHarness({
  config: {
    proxy: { grpcUpstream: `h2c://127.0.0.1:${echo.port}` },
    routes: [{ path: '/v1/repositories/:repository/**' }, { path: '/tollgate.test.Echo/**' }],
  },
  upstream: (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n'); // held open
  },
});
t.teardown(async () => {
  await h.close();
  await echo.close();
});
const client = echoClient(`127.0.0.1:${h.tollgate.proxyPort}`);
t.teardown(() => client.close());

/** A bidirectional call that has echoed once; `status` resolves with how it ended. */
async function openChat(secret: string) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', bearer(secret).authorization);
  const chat = (client.Chat as unknown as (m: grpc.Metadata) => grpc.ClientDuplexStream<Note, Note>)(metadata);
  const first = new Promise<Note>((resolve) => chat.once('data', resolve));
  chat.write({ text: 'one' });
  const echoed = (await first).text;
  const status = new Promise<grpc.StatusObject>((resolve) => chat.on('status', resolve));
  chat.on('error', () => {});
  return { echoed, status };
}

t.test('a revoke ends an open bidirectional gRPC call with 16 UNAUTHENTICATED', async (t) => {
  const token = await h.token(['stream', 'query']);
  const { echoed, status } = await openChat(token.secret);
  t.equal(echoed, 'echo one', 'the call runs');
  t.equal((await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret)).status, 200);
  const ended = await status;
  t.equal(ended.code, grpc.status.UNAUTHENTICATED);
  t.match(ended.details, /revoked/);
  await waitFor(() => echo.calls.at(-1)!.cancelled, { what: 'the upstream call to be cancelled' });
});

t.test('a rights edit that takes the right away ends the call with 7 PERMISSION_DENIED', async (t) => {
  const token = await h.token(['stream', 'query']);
  const { status } = await openChat(token.secret);
  await call(h, 'PATCH', `/v1/tokens/${token.token.id}`, h.adminSecret, { rights: ['query'] });
  t.equal((await status).code, grpc.status.PERMISSION_DENIED);
});

t.test('a revoke resets an open HTTP/2 download', async (t) => {
  const token = await h.token(['query']);
  const session = connect(`http://127.0.0.1:${h.tollgate.proxyPort}`);
  t.teardown(() => session.close());
  const stream = session.request({ ':path': '/v1/repositories/sensors/events', ...bearer(token.secret) });
  const first = new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(String(chunk))));
  stream.on('error', () => {});
  t.match(await first, /first/);
  const closed = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? -1)));
  await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret);
  t.equal(await closed, constants.NGHTTP2_CANCEL, 'reset, not ended as if whole');
});
