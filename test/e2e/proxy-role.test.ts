import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { request } from 'undici';
import { routes } from '../../src/admin/routes.js';
import { startRedis } from '../helpers/redis-server.js';
import { adminCall, initAdminSecret, redisReplicaEnv, serveRole } from '../helpers/roles.js';
import { startUpstream } from '../helpers/upstream.js';

// A proxy replica (`serve --role proxy`, the built CLI) beside a control replica on one Redis.
// The proxy replica runs with a loader hook that lists every module it loads.
const redis = await startRedis();
t.teardown(() => redis.stop());
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const env = redisReplicaEnv(redis.url, { TOLLGATE_PROXY_UPSTREAM: upstream.origin });
const admin = await initAdminSecret(env);
const control = await serveRole(t, 'control', env);
await adminCall(control.adminUrl, 'POST', '/v1/repositories', admin, { name: 'sensors' });
const reader = (
  await adminCall(control.adminUrl, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'reader', repository: 'sensors', rights: ['query'] })
).body as { secret: string };

const moduleList = join(mkdtempSync(join(tmpdir(), 'tollgate-modules-')), 'loaded.txt');
const hook = fileURLToPath(new URL('../fixtures/list-modules.mjs', import.meta.url));
const proxy = await serveRole(t, 'proxy', { ...env, MODULE_LIST_FILE: moduleList }, `--import=${hook}`);

t.test('a proxy replica forwards a request with a token made through the control replica', async (t) => {
  const res = await request(`${proxy.proxyUrl}/v1/repositories/sensors/query`, { headers: { authorization: `Bearer ${reader.secret}` } });
  t.equal(res.statusCode, 200);
  t.same(await res.body.json(), { ok: true, bytes: 0 });
});

t.test('a control replica opens no proxy port', async (t) => {
  t.equal(control.proxyUrl, undefined);
  t.equal((await control.run.logLine('tollgate listening')).role, 'control');
});

t.test('a proxy replica answers /healthz, /readyz and /metrics on admin.listen', async (t) => {
  const health = await request(`${proxy.adminUrl}/healthz`);
  t.same([health.statusCode, await health.body.json()], [200, { status: 'ok' }]);
  const ready = await request(`${proxy.adminUrl}/readyz`);
  t.same([ready.statusCode, await ready.body.json()], [200, { status: 'ready', store: 'redis' }]);
  const metrics = await request(`${proxy.adminUrl}/metrics`);
  t.equal(metrics.statusCode, 200);
  const text = await metrics.body.text();
  t.match(text, /^tollgate_requests_total\{right="query",outcome="allowed",credential="token"\} 1$/m, 'the data plane counts its requests');
  t.notMatch(text, /^tollgate_tokens\{/m, "figures of the whole store are the control plane's to report");
  const head = await request(`${proxy.adminUrl}/healthz`, { method: 'HEAD' });
  t.equal(head.statusCode, 200);
  await head.body.dump();
  const post = await request(`${proxy.adminUrl}/readyz`, { method: 'POST' });
  t.equal(post.statusCode, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  await post.body.dump();
});

t.test('every other admin route is a 404 problem on a proxy replica, with an admin token too', async (t) => {
  const probes = new Set(['/healthz', '/readyz', '/metrics']);
  const sample: Record<string, string> = { id: '0123456789abcdef', name: 'sensors', file: 'app.js' };
  const checked = new Set<string>();
  for (const route of routes()) {
    if (probes.has(route.path)) continue;
    const path = route.path.replace(/\{(\w+)\}/g, (_, param: string) => sample[param]!);
    const hasBody = route.method !== 'GET' && route.method !== 'DELETE';
    const res = await request(`${proxy.adminUrl}${path}`, {
      method: route.method as 'GET',
      headers: { authorization: `Bearer ${admin}`, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
      body: hasBody ? '{}' : undefined,
    });
    const body = (await res.body.json()) as { type: string };
    t.equal(res.statusCode, 404, `${route.method} ${route.path}`);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.equal(body.type, '/problems/not-found');
    checked.add(`${route.method} ${route.path}`);
  }
  t.ok(
    checked.has('POST /v1/tokens') && checked.has('GET /ui/') && checked.has('GET /v1/openapi.json'),
    'the API, the page and the description are among them',
  );
  // The same token on the control replica is answered: the 404s are the role's, not the token's.
  t.equal((await adminCall(control.adminUrl, 'GET', '/v1/tokens', admin)).status, 200);
});

t.test('a proxy replica loads none of the control plane (after serving every route above)', async (t) => {
  t.equal(await proxy.stop(), 0, 'drains and exits 0 on SIGTERM');
  const loaded = readFileSync(moduleList, 'utf8').split('\n').filter(Boolean);
  // The hook saw the whole process: the data plane and its store client are in the list.
  for (const wanted of [
    '/dist/roles/data-plane.js',
    '/dist/probes/probe-server.js',
    '/node_modules/ioredis/built/index.js',
    '/node_modules/prom-client/index.js',
  ]) {
    t.ok(
      loaded.some((url) => url.endsWith(wanted)),
      `loaded ${wanted}`,
    );
  }
  const controlPlane = [
    /\/dist\/admin\//, // the admin API, its handlers, schemas, OpenAPI description, policy and page
    /\/dist\/roles\/control-plane\.js$/,
    /\/dist\/events\/(sender|outbox|expiry-sweep|emitting-store|backoff)\.js$/, // webhooks out and the sweeper
    /\/dist\/store\/redis\/token-index\.js$/, // the list index
    /\/dist\/cli\/(output|table|admin-client|admin-commands|token-commands|directory-commands)\.js$/, // the CLI's tables and YAML output
    /\/node_modules\/qrcode\//,
    /\/node_modules\/(pngjs|dijkstrajs|yargs)\//, // qrcode's own dependencies
  ];
  const found = loaded.filter((url) => controlPlane.some((pattern) => pattern.test(url)));
  t.same(found, [], 'no control-plane module in the proxy replica');
});
