import { once } from 'node:events';
import { Writable } from 'node:stream';
import t from 'tap';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { createLogger } from '../../src/log/logger.js';
import { call } from '../helpers/admin-client.js';
import { curl } from '../helpers/curl.js';
import { echoClient, grpc, type Note, startEchoServer } from '../helpers/grpc.js';
import { startHarness } from '../helpers/harness.js';
import { kubernetesClaims, startOidcIssuer } from '../helpers/oidc-issuer.js';

// A JWT works wherever a token does: curl over HTTP/1.1 and HTTP/2, grpc-js, a WebSocket with the
// JWT in the bearer subprotocol or in access_token, and the decision port.
const cluster = await startOidcIssuer('EdDSA');
t.teardown(() => cluster.close());
const echo = await startEchoServer();
t.teardown(() => echo.close());
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(chunk.toString());
    done();
  },
});
const h = await startHarness({
  config: {
    proxy: { grpcUpstream: `h2c://127.0.0.1:${echo.port}`, accessLog: true },
    decision: { listen: '127.0.0.1:0' },
    identity: { jwt: [{ issuer: cluster.issuer, audiences: ['tollgate'], user: 'sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}' }] },
    routes: [
      { path: '/v1/repositories/:repository/stream', methods: { POST: 'stream', WEBSOCKET: 'stream' }, tokenIn: ['header', 'protocol', 'query'] },
      { path: '/v1/repositories/:repository/**' },
      { path: '/tollgate.test.Echo/**', repositoryHeader: 'x-repository' },
    ],
  },
  logger: createLogger('info', sink),
});
t.teardown(() => h.close());
const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false) });
h.upstream.server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data))));
const made = await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'sa-prod-producer', grants: { sensors: ['stream', 'query'] } });
if (made.status !== 201) throw new Error(`setup: ${made.status}`);
const jwt = await cluster.sign(kubernetesClaims('prod', 'producer'));
const foreign = await cluster.sign(kubernetesClaims('prod', 'producer', 'vault'));

t.test('curl over HTTP/1.1 and HTTP/2 (prior knowledge)', async (t) => {
  const one = await curl(['-H', `authorization: Bearer ${jwt}`, `${h.proxy}/v1/repositories/sensors/query`]);
  t.equal(one.status, 200);
  const two = await curl(['--http2-prior-knowledge', '-H', `authorization: Bearer ${jwt}`, `${h.proxy}/v1/repositories/sensors/query`]);
  t.equal(two.status, 200);
  t.equal(two.httpVersion, '2');
  t.equal(h.upstream.received.at(-1)!.headers['x-tollgate-user'], 'sa-prod-producer');
  const refused = await curl(['--http2-prior-knowledge', '-H', `authorization: Bearer ${foreign}`, `${h.proxy}/v1/repositories/sensors/query`]);
  t.equal(refused.status, 401);
  t.match(refused.body, /audience/);
});

t.test('grpc-js: a JWT in the authorization metadata', async (t) => {
  const client = echoClient(`127.0.0.1:${h.tollgate.proxyPort}`);
  t.teardown(() => client.close());
  const unary = (token: string) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      metadata.set('x-repository', 'sensors');
      (client.Unary as unknown as (note: Note, metadata: grpc.Metadata, done: (error: grpc.ServiceError | null) => void) => void)(
        { text: 'hi' },
        metadata,
        (error) => resolve(error),
      );
    });
  const first = await unary(jwt);
  t.equal(first, null, String(first?.details));
  t.equal((await unary(foreign))?.code, grpc.status.UNAUTHENTICATED);
});

t.test('a WebSocket with the JWT in the bearer subprotocol, or in access_token', async (t) => {
  const base = `${h.proxy.replace('http', 'ws')}/v1/repositories/sensors/stream`;
  for (const open of [() => new WebSocket(base, [`tollgate.bearer.${jwt}`, 'chat']), () => new WebSocket(`${base}?access_token=${jwt}`)]) {
    const ws = open();
    await once(ws, 'open');
    ws.send('ping');
    const [data] = await once(ws, 'message');
    t.equal(String(data), 'ping');
    ws.close();
  }
  t.notOk(
    h.upstream.received.some((seen) => seen.url.includes('access_token') || String(seen.headers['sec-websocket-protocol'] ?? '').includes('bearer')),
    'the upstream never sees the JWT',
  );
});

t.test('the decision port answers for a JWT as for a token', async (t) => {
  const ask = async (token: string) => {
    const res = await request(`http://127.0.0.1:${h.tollgate.decisionPort}/`, {
      headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/v1/repositories/sensors/query', authorization: `Bearer ${token}` },
    });
    await res.body.dump();
    return res;
  };
  const allowed = await ask(jwt);
  t.equal(allowed.statusCode, 200);
  t.equal(allowed.headers['x-tollgate-user'], 'sa-prod-producer');
  t.equal((await ask(foreign)).statusCode, 401);
});

t.test('the access log names the user and issuer of a JWT, never the JWT', async (t) => {
  const entries = lines.filter((line) => line.includes('"requestId"')).map((line) => JSON.parse(line) as Record<string, unknown>);
  const allowed = entries.filter((entry) => entry.status === 200 && entry.user === 'sa-prod-producer');
  t.ok(allowed.length > 0);
  t.ok(allowed.every((entry) => entry.issuer === cluster.issuer));
  t.ok(entries.some((entry) => entry.reason === 'jwt_wrong_audience' && entry.credential === 'jwt'));
  const [, payload, signature] = jwt.split('.');
  t.notOk(
    lines.some((line) => line.includes(signature!) || line.includes(payload!)),
    'no line holds any part of the JWT',
  );
});
