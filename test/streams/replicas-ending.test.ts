import { once } from 'node:events';
import t from 'tap';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { RedisStore } from '../../src/store/redis-store.js';
import { call } from '../helpers/admin-client.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

// Two replicas on one real Redis: a revoke made through A ends what is open on B.
const redis = await startRedis();
t.teardown(() => redis.stop());
const upstreamClosed: boolean[] = [];
const replica = async (): Promise<Harness> => {
  const store = new RedisStore({ url: redis.url, keyPrefix: 'ending:', commandTimeoutMs: 250 });
  await store.waitUntilReady(5000);
  const h = await startHarness({
    store,
    upstream: (_req, res) => {
      const at = upstreamClosed.push(false) - 1;
      res.on('close', () => (upstreamClosed[at] = true));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024));
      // held open: a long download
    },
  });
  const wss = new WebSocketServer({ noServer: true });
  h.upstream.server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data))));
  return h;
};
const a = await replica();
const b = await replica();
t.teardown(() => Promise.all([a.close(), b.close()]));

t.test('a revoke through replica A closes a WebSocket and a download held on replica B', async (t) => {
  const token = await a.token(['stream', 'query']);
  const ws = new WebSocket(`${b.proxy.replace('http', 'ws')}/v1/repositories/sensors/stream`, { headers: bearer(token.secret) });
  await once(ws, 'open');
  const closed = once(ws, 'close').then(([code, reason]) => [code, String(reason)]);
  const download = await request(`${b.proxy}/v1/repositories/sensors/blob`, { headers: bearer(token.secret) });
  t.equal(download.statusCode, 200);
  const cut = new Promise<string>((resolve) => {
    download.body.on('error', () => resolve('cut'));
    download.body.on('end', () => resolve('ended'));
    download.body.resume();
  });
  const revokedAt = performance.now();
  t.equal((await call(a, 'POST', `/v1/tokens/${token.token.id}/revoke`, a.adminSecret)).status, 200);
  t.same(await closed, [1008, 'token revoked']);
  t.equal(await cut, 'cut');
  // Reported, not asserted (timings belong to bench/revocation-lag.mjs).
  t.comment(`ended on B ${(performance.now() - revokedAt).toFixed(1)} ms after the revoke was sent`);
  await waitFor(() => upstreamClosed.at(-1) === true, { what: "B's upstream request to be aborted" });
});
