import { type ClientSessionOptions, connect } from 'node:http2';
import t from 'tap';
import { startEchoServer } from '../helpers/grpc.js';
import { bearer, startHarness } from '../helpers/harness.js';

// node:http2 refuses to send a field that takes one value twice, and throws where the call is
// opened: a gRPC call whose client sent content-type twice once threw out of the stream event
// and ended the process. It is now refused as malformed, and the next call is served.
const echo = await startEchoServer();
const h = await startHarness({
  config: {
    proxy: { grpcUpstream: `h2c://127.0.0.1:${echo.port}` },
    routes: [{ path: '/tollgate.test.Echo/**', repositoryHeader: 'x-repository' }],
  },
});
t.teardown(async () => {
  await h.close();
  await echo.close();
});
const token = await h.token(['stream']);

interface Answer {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown> | undefined;
}

/** One unary call (an empty message) with `fields` after the pseudo-headers, on its own connection. */
function call(fields: string[]): Promise<Answer> {
  // The client's own check would refuse the repeated field before it left (an option node:http2
  // takes but its type declarations do not name).
  const options = { strictSingleValueFields: false } as ClientSessionOptions;
  const session = connect(`http://127.0.0.1:${h.tollgate.proxyPort}`, options);
  return new Promise((resolve, reject) => {
    session.on('error', reject);
    const stream = session.request([':method', 'POST', ':path', '/tollgate.test.Echo/Unary', 'te', 'trailers', ...fields]);
    const answer: Answer = { headers: {}, trailers: undefined };
    stream.on('response', (headers) => (answer.headers = { ...headers }));
    stream.on('trailers', (trailers) => (answer.trailers = { ...trailers }));
    stream.on('error', reject);
    stream.on('data', () => {});
    stream.on('close', () => {
      session.close();
      resolve(answer);
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

t.test('content-type sent twice is refused with INVALID_ARGUMENT, and the next call is served', async (t) => {
  const authorization = bearer(token.secret).authorization;
  const before = echo.calls.length;
  const refused = await call(['content-type', 'application/grpc', 'content-type', 'application/grpc', 'authorization', authorization]);
  t.equal(refused.headers[':status'], 200, 'a gRPC answer');
  t.equal(refused.headers['grpc-status'], '3', 'trailers-only INVALID_ARGUMENT');
  t.equal(echo.calls.length, before, 'nothing reached the upstream');
  const served = await call(['content-type', 'application/grpc', 'authorization', authorization]);
  t.equal(served.trailers?.['grpc-status'], '0', 'the next call is answered by the upstream');
  t.equal(echo.calls.length, before + 1);
});
