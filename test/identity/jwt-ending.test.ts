import { once } from 'node:events';
import t from 'tap';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { RedisStore } from '../../src/store/redis-store.js';
import { call } from '../helpers/admin-client.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { kubernetesClaims, startOidcIssuer } from '../helpers/oidc-issuer.js';
import { startRedis } from '../helpers/redis-server.js';

// Two replicas on one real Redis, one issuer: a change made through A (a grant taken away, the
// user disabled) ends what a JWT identity holds open on B, as it does for a personal token.
const redis = await startRedis();
t.teardown(() => redis.stop());
const cluster = await startOidcIssuer('RS256');
t.teardown(() => cluster.close());
const replica = async (): Promise<Harness> => {
  const store = new RedisStore({ url: redis.url, keyPrefix: 'jwt-ending:', commandTimeoutMs: 2000 });
  await store.waitUntilReady(5000);
  const h = await startHarness({
    store,
    config: {
      identity: { jwt: [{ issuer: cluster.issuer, audiences: ['tollgate'], user: 'sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}' }] },
      routes: [
        { path: '/v1/repositories/:repository/stream', methods: { POST: 'stream', WEBSOCKET: 'stream' }, tokenIn: ['header', 'protocol'] },
        { path: '/v1/repositories/:repository/**' },
      ],
    },
    upstream: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024)); // held open: a long download
    },
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false) });
  h.upstream.server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data))));
  return h;
};
const a = await replica();
const b = await replica();
t.teardown(() => Promise.all([a.close(), b.close()]));
for (const name of ['sa-prod-producer', 'sa-prod-consumer']) {
  const made = await call(a, 'POST', '/v1/users', a.adminSecret, { name, grants: { sensors: ['stream', 'query'] } });
  if (made.status !== 201) throw new Error(`setup: ${made.status}`);
}

/** A WebSocket on B carrying the JWT in the bearer subprotocol, and a download on B with it in the header. */
async function openOnB(jwt: string) {
  const ws = new WebSocket(`${b.proxy.replace('http', 'ws')}/v1/repositories/sensors/stream`, [`tollgate.bearer.${jwt}`, 'chat']);
  await once(ws, 'open');
  const closed = once(ws, 'close').then(([code]) => code as number);
  const download = await request(`${b.proxy}/v1/repositories/sensors/blob`, { headers: { authorization: `Bearer ${jwt}` } });
  const cut = new Promise<string>((resolve) => {
    download.body.on('error', () => resolve('cut'));
    download.body.on('end', () => resolve('ended'));
    download.body.resume();
  });
  return { ws, closed, download, cut };
}

t.test("taking the grant away through A ends the JWT identity's WebSocket and download on B", async (t) => {
  const jwt = await cluster.sign(kubernetesClaims('prod', 'producer'));
  const open = await openOnB(jwt);
  t.equal(open.ws.protocol, 'chat', 'the token subprotocol never reaches the upstream; the other is chosen');
  t.equal(open.download.statusCode, 200);
  const sent = performance.now();
  t.equal((await call(a, 'PATCH', '/v1/users/sa-prod-producer', a.adminSecret, { grants: {} })).status, 200);
  t.equal(await open.closed, 1008);
  t.equal(await open.cut, 'cut');
  t.comment(`ended on B ${(performance.now() - sent).toFixed(1)} ms after the change was sent`);
  const again = await request(`${b.proxy}/v1/repositories/sensors/stream`, { method: 'POST', headers: { authorization: `Bearer ${jwt}` }, body: 'x' });
  await again.body.dump();
  t.equal(again.statusCode, 403, 'and new requests are refused on B');
});

t.test("disabling the user through A ends its JWT identity's exchanges on B and refuses it there", async (t) => {
  const jwt = await cluster.sign(kubernetesClaims('prod', 'consumer'));
  const open = await openOnB(jwt);
  t.equal((await call(a, 'PATCH', '/v1/users/sa-prod-consumer', a.adminSecret, { disabled: true })).status, 200);
  t.equal(await open.closed, 1008);
  t.equal(await open.cut, 'cut');
  const again = await request(`${b.proxy}/v1/repositories/sensors/stream`, { method: 'POST', headers: { authorization: `Bearer ${jwt}` }, body: 'x' });
  const body = (await again.body.json()) as { detail: string };
  t.equal(again.statusCode, 401);
  t.match(body.detail, /disabled/);
});
