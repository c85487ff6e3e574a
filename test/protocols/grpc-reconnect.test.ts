import t from 'tap';
import { echoClient, grpc, type Note, startEchoServer } from '../helpers/grpc.js';
import { bearer, startHarness } from '../helpers/harness.js';

// The pooled session to the gRPC upstream is dropped when the upstream sends GOAWAY or closes,
// and the next call opens a new one: a restarted upstream is used again without a restart here.
let echo = await startEchoServer();
const port = echo.port;
const h = await startHarness({ config: { proxy: { grpcUpstream: `h2c://127.0.0.1:${port}` }, routes: [{ path: '/tollgate.test.Echo/**' }] } });
t.teardown(async () => {
  await h.close();
  await echo.close();
});
const token = await h.token(['stream']);
const client = echoClient(`127.0.0.1:${h.tollgate.proxyPort}`);
t.teardown(() => client.close());

const call = () =>
  new Promise<grpc.StatusObject>((resolve) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', bearer(token.secret).authorization);
    const unary = (client.Unary as unknown as (r: Note, m: grpc.Metadata, cb: grpc.requestCallback<Note>) => grpc.ClientUnaryCall)(
      { text: 'again' },
      metadata,
      () => {},
    );
    unary.on('status', resolve);
  });

t.test('calls go through again after the gRPC upstream restarts', async (t) => {
  t.equal((await call()).code, grpc.status.OK);
  const first = echo.calls.length;
  // A graceful shutdown sends GOAWAY on the session Tollgate holds.
  await echo.close();
  t.equal((await call()).code, grpc.status.UNAVAILABLE, 'while it is down: 14');
  echo = await startEchoServer(port);
  t.equal((await call()).code, grpc.status.OK, 'after it is back: a new session');
  t.equal(echo.calls.length, 1);
  t.equal(first, 1);
});
