import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type Dispatcher, request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { makeCertificate } from '../helpers/certificates.js';
import { runCli } from '../helpers/cli.js';
import { startRedis } from '../helpers/redis-server.js';
import { adminCall, initAdminSecret, redisReplicaEnv } from '../helpers/roles.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';
import { newSecret, type Receiver, startReceiver } from '../helpers/webhook-receiver.js';

type Teardown = { teardown(fn: () => unknown): void };

/** One `tollgate serve` (the built CLI) and where it listens. */
export interface Pod {
  role: 'all' | 'proxy';
  adminUrl: string;
  proxyUrl: string;
  decisionUrl: string;
  /** Reaches the proxy port (trusting its certificate when it has TLS). */
  dispatcher: Dispatcher;
  /** The certificate the proxy port serves, when it has TLS. */
  ca: string | undefined;
}

/**
 * What an operator runs, small: one Redis, an upstream that answers HTTP and WebSockets, a webhook
 * receiver, an `all` replica (proxy port with TLS, decision port, admin API, webhooks) and a
 * `proxy` replica (plain proxy port, decision port) on the same store.
 */
export interface Deployment {
  admin: string;
  all: Pod;
  proxy: Pod;
  receiver: Receiver;
}

async function serve(t: Teardown, role: Pod['role'], env: Record<string, string>, ca: string | undefined): Promise<Pod> {
  const run = runCli(['serve', '--role', role], env);
  t.teardown(() => run.child.kill('SIGKILL'));
  process.once('exit', () => run.child.kill('SIGKILL'));
  const listening = await run.logLine('tollgate listening');
  const scheme = ca === undefined ? 'http' : 'https';
  const dispatcher = new Agent(ca === undefined ? {} : { connect: { ca } });
  t.teardown(() => dispatcher.close());
  return {
    role,
    adminUrl: `http://127.0.0.1:${listening.adminPort}`,
    proxyUrl: `${scheme}://127.0.0.1:${listening.proxyPort}`,
    decisionUrl: `http://127.0.0.1:${listening.decisionPort}`,
    dispatcher,
    ca,
  };
}

export async function startDeployment(t: Teardown): Promise<Deployment> {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const sockets = new WebSocketServer({ noServer: true });
  upstream.server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(`echo ${data}`))));
  const secret = newSecret();
  const receiver = await startReceiver(secret);
  t.teardown(() => receiver.close());
  const env = redisReplicaEnv(redis.url, {
    TOLLGATE_PROXY_UPSTREAM: upstream.origin,
    TOLLGATE_DECISION_LISTEN: '127.0.0.1:0',
  });
  const admin = await initAdminSecret(env);
  const certificate = makeCertificate(30);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-monitoring-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cert.pem'), certificate.cert);
  writeFileSync(join(dir, 'key.pem'), certificate.key);
  const all = await serve(
    t,
    'all',
    {
      ...env,
      TOLLGATE_PROXY_TLS_CERT: join(dir, 'cert.pem'),
      TOLLGATE_PROXY_TLS_KEY: join(dir, 'key.pem'),
      TOLLGATE_EVENTS_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret, events: ['*'] }]),
      TOLLGATE_EVENTS_POLL: '50ms',
    },
    certificate.cert,
  );
  const proxy = await serve(t, 'proxy', env, undefined);
  for (const name of ['sensors', 'billing']) await adminCall(all.adminUrl, 'POST', '/v1/repositories', admin, { name });
  return { admin, all, proxy, receiver };
}

async function get(pod: Pod, path: string, secret?: string, init: { method?: string; body?: string } = {}): Promise<number> {
  const res = await request(`${pod.proxyUrl}${path}`, {
    dispatcher: pod.dispatcher,
    method: (init.method ?? 'GET') as 'GET',
    headers: secret === undefined ? {} : { authorization: `Bearer ${secret}` },
    body: init.body,
  });
  await res.body.dump();
  return res.statusCode;
}

async function ask(pod: Pod, method: string, uri: string, secret?: string): Promise<number> {
  const res = await request(`${pod.decisionUrl}/`, {
    headers: { 'x-forwarded-method': method, 'x-forwarded-uri': uri, ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }) },
  });
  await res.body.dump();
  return res.statusCode;
}

/** A WebSocket through the proxy port, once one message came back echoed; `closed`: the close code. */
async function openWebSocket(pod: Pod, secret: string): Promise<{ reply: string; ws: WebSocket; closed: Promise<number> }> {
  const url = `${pod.proxyUrl.replace(/^http/, 'ws')}/v1/repositories/sensors/stream`;
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${secret}` }, ca: pod.ca });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const reply = await new Promise<string>((resolve, reject) => {
    ws.once('open', () => ws.send('hello'));
    ws.once('message', (data) => resolve(String(data)));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return { reply, ws, closed };
}

/** A WebSocket: one message echoed, then closed by the client. */
async function webSocket(pod: Pod, secret: string): Promise<string> {
  const { reply, ws, closed } = await openWebSocket(pod, secret);
  ws.close(1000);
  await closed;
  return reply;
}

let made = 0;
const uniqueName = (what: string) => `${what}-${process.pid}-${++made}`;

async function token(d: Deployment, body: Record<string, unknown>): Promise<{ secret: string; token: { id: string } }> {
  const created = await adminCall(d.all.adminUrl, 'POST', '/v1/tokens', d.admin, {
    kind: 'repository',
    repository: 'sensors',
    name: uniqueName('monitoring'),
    ...body,
  });
  if (created.status !== 201) throw new Error(`token not created: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body as { secret: string; token: { id: string } };
}

/** Statuses the workload saw, so a test can tell a workload that did not happen from a metric that is missing. */
export type Seen = Record<string, number>;

/**
 * A small, realistic workload on both pods: allowed reads and uploads, every common refusal, a
 * rate limit hit, a WebSocket, decision-port questions, admin reads and writes, a token expiring
 * soon, a revocation that reaches the other replica, and webhook deliveries. Every event the
 * dashboard has a panel for happens at least once.
 */
export async function runWorkload(d: Deployment): Promise<Seen> {
  const seen: Seen = {};
  const saw = (what: string, status: number) => (seen[`${what} ${status}`] = (seen[`${what} ${status}`] ?? 0) + 1);
  const reader = await token(d, { rights: ['query', 'stream'] });
  const writer = await token(d, { rights: ['modify'], repository: 'billing' });
  const limited = await token(d, { rights: ['query'], limits: { rate: { requests: 2, per: '1h' } } });
  await token(d, { rights: ['query'], expiresIn: '2d' });
  const doomed = await token(d, { rights: ['query', 'stream'] });
  for (const pod of [d.all, d.proxy]) {
    for (let i = 0; i < 20; i++) saw('query', await get(pod, `/v1/repositories/sensors/query?i=${i}`, reader.secret));
    for (let i = 0; i < 5; i++) saw('upload', await get(pod, '/v1/repositories/sensors/stream', reader.secret, { method: 'POST', body: 'x'.repeat(1000) }));
    saw('write', await get(pod, '/v1/repositories/billing/data', writer.secret, { method: 'PUT', body: '{}' }));
    saw('no token', await get(pod, '/v1/repositories/sensors/query'));
    saw('bad token', await get(pod, '/v1/repositories/sensors/query', `tgr_${'x'.repeat(49)}`));
    saw('wrong right', await get(pod, '/v1/repositories/sensors/data', reader.secret, { method: 'DELETE' }));
    saw('other repository', await get(pod, '/v1/repositories/billing/query', reader.secret));
    saw('doomed', await get(pod, '/v1/repositories/sensors/query', doomed.secret));
    saw('websocket', (await webSocket(pod, reader.secret)) === 'echo hello' ? 101 : 0);
    saw('decision allowed', await ask(pod, 'GET', '/v1/repositories/sensors/query', reader.secret));
    saw('decision refused', await ask(pod, 'GET', '/v1/repositories/sensors/query'));
    saw('decision forbidden', await ask(pod, 'DELETE', '/v1/repositories/sensors/x', reader.secret));
  }
  for (let i = 0; i < 3; i++) saw('limited', await get(d.proxy, '/v1/repositories/sensors/query', limited.secret));
  for (const path of ['/v1/tokens', '/v1/repositories', '/v1/whoami', '/v1/events'])
    saw(`admin ${path}`, (await adminCall(d.all.adminUrl, 'GET', path, d.admin)).status);
  saw('admin unmatched', (await adminCall(d.all.adminUrl, 'GET', '/v1/nothing-here', d.admin)).status);
  // Revoked on the all replica, published on Redis: the proxy replica applies it (and times the
  // lag) and ends the WebSocket open on it there (1008, counted as ended by revocation).
  const open = await openWebSocket(d.proxy, doomed.secret);
  saw('revoke', (await adminCall(d.all.adminUrl, 'POST', `/v1/tokens/${doomed.token.id}/revoke`, d.admin)).status);
  let last = 0;
  await waitFor(
    async () => {
      last = await get(d.proxy, '/v1/repositories/sensors/query', doomed.secret);
      return last === 401;
    },
    { what: `the revocation on the proxy replica (${JSON.stringify(seen)} ${last})` },
  );
  saw('revoked', 401);
  saw('revoked websocket', await open.closed);
  await waitFor(() => d.receiver.accepted.size >= 6, { what: 'webhook deliveries of the token events', timeoutMs: 10_000 });
  return seen;
}

/** The samples of one /metrics text (no comments): what Prometheus stores as series. */
export async function scrapeSeries(pod: Pod): Promise<string[]> {
  const res = await request(`${pod.adminUrl}/metrics`);
  const text = await res.body.text();
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}
