import { once } from 'node:events';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { RedisStore } from '../../src/store/redis-store.js';
import { call } from '../helpers/admin-client.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

// Two replicas on one real Redis (docs/organizations.md): a grant on @acme taken away through
// replica A ends the stream its user holds open on replica B, and so does revoking a token on @acme.
const redis = await startRedis();
t.teardown(() => redis.stop());
const replica = async (): Promise<Harness> => {
  const store = new RedisStore({ url: redis.url, keyPrefix: 'org-ending:', commandTimeoutMs: 2000 });
  await store.waitUntilReady(5000);
  const h = await startHarness({
    store,
    upstream: (_req, res) => {
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

const ok = async (method: string, path: string, body?: unknown) => {
  const reply = await call(a, method, path, a.adminSecret, body);
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
};
await ok('POST', '/v1/organizations', { name: 'acme' });
await ok('POST', '/v1/repositories', { name: 'a1', organization: 'acme' });

/** A download held open on B; `ended` resolves 'cut' when B ends it. */
async function holdDownload(t: Test, secret: string): Promise<{ ended: Promise<string> }> {
  const download = await request(`${b.proxy}/v1/repositories/a1/blob`, { headers: bearer(secret) });
  t.equal(download.statusCode, 200, 'open on B');
  const ended = new Promise<string>((resolve) => {
    download.body.on('error', () => resolve('cut'));
    download.body.on('end', () => resolve('ended'));
    download.body.resume();
  });
  return { ended };
}

t.test('taking a grant on @acme away through A ends the stream its user holds on B', async (t) => {
  await ok('POST', '/v1/users', { name: 'bob', grants: { '@acme': ['stream', 'query'] } });
  const personal = (await ok('POST', '/v1/tokens', { kind: 'personal', name: 'bob phone', user: 'bob', rights: ['stream', 'query'] })).secret as string;
  const ws = new WebSocket(`${b.proxy.replace('http', 'ws')}/v1/repositories/a1/stream`, { headers: bearer(personal) });
  await once(ws, 'open');
  const closed = once(ws, 'close').then(([code]) => code as number);
  const cut = await holdDownload(t, personal);
  await ok('PATCH', '/v1/users/bob', { grants: {} });
  t.equal(await cut.ended, 'cut');
  t.equal(await closed, 1008);
  const after = await request(`${b.proxy}/v1/repositories/a1/blob`, { headers: bearer(personal) });
  await after.body.dump();
  t.equal(after.statusCode, 403, 'refused on B from then on');
});

t.test('revoking a token on @acme through A ends its stream on B', async (t) => {
  const created = await ok('POST', '/v1/tokens', { kind: 'repository', name: 'acme feed', repository: '@acme', rights: ['stream', 'query'] });
  const cut = await holdDownload(t, created.secret);
  await ok('POST', `/v1/tokens/${created.token.id}/revoke`);
  t.equal(await cut.ended, 'cut');
});

t.test('a repository made in acme through A is reached through B by a token on @acme at once', async (t) => {
  const created = await ok('POST', '/v1/tokens', { kind: 'repository', name: 'acme reader', repository: '@acme', rights: ['query'] });
  const before = await request(`${b.proxy}/v1/repositories/a2/q`, { headers: bearer(created.secret) });
  await before.body.dump();
  t.equal(before.statusCode, 403, 'no a2 yet');
  await ok('POST', '/v1/repositories', { name: 'a2', organization: 'acme' });
  // The invalidation travels through Redis pub/sub: B drops the token's cached reach when it arrives.
  const statusOnB = async () => {
    const res = await request(`${b.proxy}/v1/repositories/a2/q`, { headers: bearer(created.secret) });
    res.body.destroy(); // the upstream holds every answer open
    return res.statusCode;
  };
  await waitFor(async () => (await statusOnB()) === 200, { what: 'B to reach a2 through @acme' });
  t.pass('reached on B');
});
