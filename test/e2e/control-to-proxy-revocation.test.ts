import { once } from 'node:events';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { startRedis } from '../helpers/redis-server.js';
import { adminCall, initAdminSecret, redisReplicaEnv, serveRole } from '../helpers/roles.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

// One control replica and one proxy replica (the built CLI, each its own process) on one Redis.
// The cache TTL is an hour, so a refusal within the deadline can only come from the store's
// invalidation channel (docs/stores.md), never from an entry running out.
const redis = await startRedis();
t.teardown(() => redis.stop());
const upstreamEnded: boolean[] = [];
const upstream = await startUpstream((req, res) => {
  if (req.url?.endsWith('/blob')) {
    const at = upstreamEnded.push(false) - 1;
    res.on('close', () => (upstreamEnded[at] = true));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(1024)); // and held open: a long download
    return;
  }
  req.resume();
  req.on('end', () => res.end('{"ok":true}'));
});
t.teardown(() => upstream.close());
const sockets = new WebSocketServer({ noServer: true });
upstream.server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data))));

const env = redisReplicaEnv(redis.url, { TOLLGATE_PROXY_UPSTREAM: upstream.origin, TOLLGATE_CACHE_TTL: '1h' });
const admin = await initAdminSecret(env);
const control = await serveRole(t, 'control', env);
const proxy = await serveRole(t, 'proxy', env);
const api = (method: string, path: string, body?: unknown) => adminCall(control.adminUrl, method, path, admin, body);
t.equal((await api('POST', '/v1/repositories', { name: 'sensors' })).status, 201);

/** GET through the proxy replica with this secret: the status. */
async function query(secret: string): Promise<number> {
  const res = await request(`${proxy.proxyUrl}/v1/repositories/sensors/query`, { headers: { authorization: `Bearer ${secret}` } });
  await res.body.dump();
  return res.statusCode;
}

/** Waits until the proxy replica answers `status`, with a deadline far below the cache TTL. */
async function refusedWithin(t: Test, secret: string, status: number, since: number): Promise<void> {
  await waitFor(async () => (await query(secret)) === status, { what: `the proxy replica to answer ${status}`, timeoutMs: 5000, everyMs: 5 });
  // Reported, not asserted: the bound's p99 is bench/revocation-lag.mjs's to measure.
  t.comment(`refused ${(performance.now() - since).toFixed(1)} ms after the change was sent to the control replica`);
}

// Token names are unique per repository: each test's token has its own.
let tokensMade = 0;
const repositoryToken = async (rights: string[], extra: Record<string, unknown> = {}) => {
  const made = await api('POST', '/v1/tokens', { kind: 'repository', name: `reader-${++tokensMade}`, repository: 'sensors', rights, ...extra });
  t.equal(made.status, 201, 'token made');
  return made.body as { secret: string; token: { id: string } };
};

t.test('a token revoked through the control replica is refused by the proxy replica', async (t) => {
  const token = await repositoryToken(['query']);
  t.equal(await query(token.secret), 200, 'allowed, and now cached on the proxy replica');
  const sent = performance.now();
  t.equal((await api('POST', `/v1/tokens/${token.token.id}/revoke`)).status, 200);
  await refusedWithin(t, token.secret, 401, sent);
});

t.test("a grant removed from a user through the control replica is refused for the user's personal token", async (t) => {
  t.equal((await api('POST', '/v1/users', { name: 'alice', grants: { sensors: ['query'] } })).status, 201);
  const made = await api('POST', '/v1/tokens', { kind: 'personal', name: 'laptop', user: 'alice', repository: 'sensors', rights: ['query'] });
  const secret = (made.body as { secret: string }).secret;
  t.equal(await query(secret), 200);
  const sent = performance.now();
  t.equal((await api('PATCH', '/v1/users/alice', { grants: {} })).status, 200);
  await refusedWithin(t, secret, 403, sent);
});

t.test('a rate limit set through the control replica is enforced by the proxy replica', async (t) => {
  const token = await repositoryToken(['query']);
  for (let i = 0; i < 3; i++) t.equal(await query(token.secret), 200, 'no limit yet');
  const sent = performance.now();
  t.equal((await api('PATCH', `/v1/tokens/${token.token.id}`, { limits: { rate: { requests: 1, per: '1h' } } })).status, 200);
  await refusedWithin(t, token.secret, 429, sent);
});

t.test('a revoke through the control replica ends a download and a WebSocket open on the proxy replica', async (t) => {
  const token = await repositoryToken(['query', 'stream']);
  const ws = new WebSocket(`${proxy.proxyUrl!.replace('http', 'ws')}/v1/repositories/sensors/stream`, { headers: { authorization: `Bearer ${token.secret}` } });
  await once(ws, 'open');
  const wsClosed = once(ws, 'close').then(([code, reason]) => [code, String(reason)]);
  const download = await request(`${proxy.proxyUrl}/v1/repositories/sensors/blob`, { headers: { authorization: `Bearer ${token.secret}` } });
  t.equal(download.statusCode, 200);
  const downloadEnded = new Promise<string>((resolve) => {
    download.body.on('error', () => resolve('cut'));
    download.body.on('end', () => resolve('ended'));
    download.body.resume();
  });
  const sent = performance.now();
  t.equal((await api('POST', `/v1/tokens/${token.token.id}/revoke`)).status, 200);
  t.same(await wsClosed, [1008, 'token revoked']);
  t.equal(await downloadEnded, 'cut', 'the download is cut, not ended as if complete');
  t.comment(`both ended ${(performance.now() - sent).toFixed(1)} ms after the revoke was sent`);
  await waitFor(() => upstreamEnded.at(-1) === true, { what: "the proxy replica's upstream request to be aborted" });
});
