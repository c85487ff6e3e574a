import t from 'tap';
import { request } from 'undici';
import { startRedis } from '../helpers/redis-server.js';
import { adminCall, initAdminSecret, type RoleProcess, redisReplicaEnv, serveRole } from '../helpers/roles.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

// Usage history across replicas (docs/usage.md): two proxy replicas (the built CLI, each its own
// process) count the same token's requests on one Redis; the control replica reads hourly figures
// that are the exact sums of what went through both, once from the timed flush and once after
// the shutdown flush, with nothing counted twice.
const redis = await startRedis();
t.teardown(() => redis.stop());
const upstream = await startUpstream((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
    res.end('z'.repeat(100));
  });
});
t.teardown(() => upstream.close());

const env = redisReplicaEnv(redis.url, { TOLLGATE_PROXY_UPSTREAM: upstream.origin, TOLLGATE_USAGE_FLUSH_INTERVAL: '1s' });
const admin = await initAdminSecret(env);
const control = await serveRole(t, 'control', env);
const proxies = [await serveRole(t, 'proxy', env), await serveRole(t, 'proxy', env)];
const api = (path: string) => adminCall(control.adminUrl, 'GET', path, admin);
// Set up before any assertion: tap ends a file's top level once it asserts with nothing queued.
const repository = await adminCall(control.adminUrl, 'POST', '/v1/repositories', admin, { name: 'sensors' });
const made = await adminCall(control.adminUrl, 'POST', '/v1/tokens', admin, {
  kind: 'repository',
  name: 'producer',
  repository: 'sensors',
  rights: ['stream'],
});
if (repository.status !== 201 || made.status !== 201) throw new Error(`setup failed: ${repository.status} ${made.status}`);
const { secret, token } = made.body as { secret: string; token: { id: string } };
const from = new Date(Date.now() - 3_600_000).toISOString();

/** Sends `allowed` uploads of `size` bytes and `refused` reads (the token may only stream) through `proxy`. */
async function send(proxy: RoleProcess, allowed: number, refused: number, size: number): Promise<void> {
  for (let i = 0; i < allowed; i++) {
    const res = await request(`${proxy.proxyUrl}/v1/repositories/sensors/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      body: 'u'.repeat(size),
    });
    await res.body.dump();
    t.equal(res.statusCode, 200);
  }
  for (let i = 0; i < refused; i++) {
    const res = await request(`${proxy.proxyUrl}/v1/repositories/sensors/query`, { headers: { authorization: `Bearer ${secret}` } });
    await res.body.dump();
    t.equal(res.statusCode, 403);
  }
}

interface Totals {
  allowed: number;
  refused: number;
  insufficient: number;
  bytesIn: number;
  bytesOut: number;
}

/** The token's figures summed over every hour since `from` (a run may straddle an hour's end). */
async function totals(): Promise<Totals> {
  const reply = await api(`/v1/tokens/${token.id}/usage/history?from=${from}&to=${new Date(Date.now() + 3_600_000).toISOString()}`);
  const sum: Totals = { allowed: 0, refused: 0, insufficient: 0, bytesIn: 0, bytesOut: 0 };
  for (const item of reply.body.items) {
    sum.allowed += item.allowed;
    sum.refused += item.refused;
    sum.insufficient += item.refusedBy.insufficient_scope ?? 0;
    sum.bytesIn += item.bytesIn;
    sum.bytesOut += item.bytesOut;
  }
  return sum;
}

t.test('the timed flushes of two replicas add up exactly', async (t) => {
  await Promise.all([send(proxies[0]!, 7, 2, 300), send(proxies[1]!, 5, 3, 50)]);
  const expected: Totals = { allowed: 12, refused: 5, insufficient: 5, bytesIn: 7 * 300 + 5 * 50, bytesOut: 12 * 100 };
  let seen: Totals | undefined;
  await waitFor(
    async () => {
      seen = await totals();
      return JSON.stringify(seen) === JSON.stringify(expected);
    },
    { what: 'both replicas to flush', timeoutMs: 10_000, everyMs: 100 },
  );
  t.same(seen, expected);
});

t.test('what is counted after the last flush is written at shutdown, and nothing twice', async (t) => {
  await Promise.all([send(proxies[0]!, 4, 1, 10), send(proxies[1]!, 6, 0, 20)]);
  t.same(await Promise.all(proxies.map((proxy) => proxy.stop())), [0, 0], 'both replicas drained and exited');
  t.same(await totals(), { allowed: 22, refused: 6, insufficient: 6, bytesIn: 7 * 300 + 5 * 50 + 4 * 10 + 6 * 20, bytesOut: 22 * 100 });
  const top = await api(`/v1/usage?repository=sensors&from=${from}`);
  t.match(top.body.items, [{ id: token.id, name: 'producer', allowed: 22, refused: 6 }], 'the top list reads the same sums');
});
