import t from 'tap';
import { request } from 'undici';
import { Invalidator } from '../../src/admin/invalidator.js';
import { TokenService } from '../../src/admin/token-service.js';
import { type Replica, startReplica } from '../../src/app.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FakeClock } from '../helpers/fakes.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

// A control replica and a proxy replica started by startReplica in this process, on one memory
// store (its channel delivers to both), with admin.metricsAuth on: the proxy role's probes, its
// metrics behind the admin right, and each role's shutdown. The built CLI's roles on Redis are
// test/e2e/proxy-role.test.ts and test/e2e/control-to-proxy-revocation.test.ts.
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const store = new MemoryStore();
const clock = new FakeClock(Date.now());
const configOf = (role: string) =>
  validate(
    merge(DEFAULTS, {
      role,
      proxy: { listen: '127.0.0.1:0', upstream: upstream.origin, accessLog: false },
      admin: { listen: '127.0.0.1:0', metricsAuth: true },
      decision: { listen: '127.0.0.1:0' },
      store: { backend: 'memory' },
      log: { level: 'silent' },
    }),
  );
const logger = createLogger('silent');
const control = await startReplica(configOf('control'), store, logger, clock);
const proxy = await startReplica(configOf('proxy'), store, logger, clock);
const stopped: Replica[] = [];
t.teardown(() => Promise.all([control, proxy].filter((r) => !stopped.includes(r)).map((r) => r.shutdown(0))));

const adminOf = (replica: Replica) => `http://127.0.0.1:${replica.adminPort}`;
const call = async (url: string, secret?: string, method = 'GET', body?: unknown) => {
  const res = await request(url, {
    method: method as 'GET',
    headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: /json/.test(String(res.headers['content-type'])) ? JSON.parse(text) : text };
};

await store.createRepository({ name: 'sensors', createdAt: clock.now(), createdBy: 'test' });
// Tokens go in through the control replica's API, as an operator's would; the first straight into the store.
const tokens = new TokenService({
  store,
  clock,
  invalidator: new Invalidator({ apply() {} }, store),
  connectUri: 'tollgate://{host}?token={secret}',
  maxLifetimeMs: null,
});
const admin = (await tokens.createUnchecked('test', { kind: 'repository', name: 'admin', repository: '*', rights: ['query', 'stream', 'admin'] })).secret;
const reader = await call(`${adminOf(control)}/v1/tokens`, admin, 'POST', { kind: 'repository', name: 'reader', repository: 'sensors', rights: ['query'] });

t.test('each role opens its own ports', async (t) => {
  t.equal(control.role, 'control');
  t.equal(control.proxyPort, undefined);
  t.equal(control.decisionPort, undefined, 'no decision port on the control plane, even when decision.listen is set');
  t.equal(proxy.role, 'proxy');
  t.ok(proxy.proxyPort && proxy.decisionPort, 'the proxy and decision ports');
});

t.test("the proxy replica forwards with a token made through the control replica's API", async (t) => {
  t.equal(reader.status, 201);
  const res = await call(`http://127.0.0.1:${proxy.proxyPort}/v1/repositories/sensors/query`, reader.body.secret);
  t.equal(res.status, 200);
});

t.test("the proxy replica's metrics need a token with the admin right when admin.metricsAuth is on", async (t) => {
  const url = `${adminOf(proxy)}/metrics`;
  const none = await call(url);
  t.equal(none.status, 401);
  t.equal(none.body.type, '/problems/missing-token');
  const notAdmin = await call(url, reader.body.secret);
  t.equal(notAdmin.status, 403);
  t.equal(notAdmin.body.type, '/problems/insufficient-scope');
  const scraped = await call(url, admin);
  t.equal(scraped.status, 200);
  t.match(scraped.body, /^tollgate_cache_entries \d+$/m);
  t.equal((await call(`${adminOf(control)}/metrics`, reader.body.secret)).status, 403, 'the control replica answers the same');
  t.equal((await call(`${adminOf(proxy)}/healthz`)).status, 200, 'the probes stay open');
});

t.test('a bad request target on the proxy replica is a 404 problem', async (t) => {
  const res = await call(`${adminOf(proxy)}/metrics/../v1/tokens?x=1`, admin);
  t.equal(res.status, 404);
  t.equal(res.body.type, '/problems/not-found');
  t.match(res.body.detail, /control role/);
  t.equal((await call(`${adminOf(proxy)}/readyz?verbose=1`)).status, 200, 'a query on a probe is ignored');
});

t.test('a refused request with a body is answered without reading it, and its connection closes', async (t) => {
  const tokens = await call(`${adminOf(proxy)}/v1/tokens`, admin, 'POST', { kind: 'repository', name: 'x', repository: 'sensors', rights: ['query'] });
  t.equal(tokens.status, 404);
  t.equal(tokens.headers.connection, 'close');
  const probe = await call(`${adminOf(proxy)}/readyz`, admin, 'POST', { any: 'thing' });
  t.equal(probe.status, 405);
  t.equal(probe.headers.connection, 'close');
  t.not((await call(`${adminOf(proxy)}/v1/tokens`, admin)).headers.connection, 'close', 'a GET keeps its connection');
});

t.test('shutdown: the proxy replica turns /readyz 503 while its requests drain, then stops', async (t) => {
  // A download the upstream holds open keeps the proxy replica draining.
  let release: (() => void) | undefined;
  upstream.server.removeAllListeners('request');
  upstream.server.on('request', (_req, res) => {
    res.writeHead(200);
    res.write('started');
    release = () => res.end();
  });
  const held = await request(`http://127.0.0.1:${proxy.proxyPort}/v1/repositories/sensors/query`, {
    headers: { authorization: `Bearer ${reader.body.secret}` },
  });
  const done = proxy.shutdown(5000);
  stopped.push(proxy);
  await waitFor(async () => (await call(`${adminOf(proxy)}/readyz`)).status === 503, { what: '/readyz to turn 503' });
  t.same((await call(`${adminOf(proxy)}/readyz`)).body, { status: 'draining' });
  release!();
  t.equal(await held.body.text(), 'started');
  await done;
  stopped.push(control);
  await control.shutdown();
  await t.rejects(call(`${adminOf(control)}/healthz`), 'the control replica has closed its port');
});
