import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { request } from 'undici';
import { runCli } from '../helpers/cli.js';
import { startRedis } from '../helpers/redis-server.js';
import { redisReplicaEnv } from '../helpers/roles.js';
import { startUpstream } from '../helpers/upstream.js';

// The bundle the image runs (dist/bundle/main.js, scripts/bundle.mjs) is the same CLI: a proxy
// role from it serves, and loads no chunk that holds any of the control plane. Which built files
// a chunk holds comes from esbuild's metafile (dist/bundle.meta.json).
const root = fileURLToPath(new URL('../../', import.meta.url));
const bundleMain = join(root, 'dist/bundle/main.js');
const meta = JSON.parse(readFileSync(join(root, 'dist/bundle.meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };

const redis = await startRedis();
t.teardown(() => redis.stop());
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const moduleList = join(mkdtempSync(join(tmpdir(), 'tollgate-bundle-modules-')), 'loaded.txt');
const hook = fileURLToPath(new URL('../fixtures/list-modules.mjs', import.meta.url));
// tap records every child's coverage and maps it back through source maps; the bundle's minified
// functions would land in src/ as hundreds of extra entries (named `y`, `Ke`, ...) that no test
// can name. Its coverage is switched off here (tap's processinfo reads this variable); the same
// code is covered from dist/ by the other e2e tests.
const env = {
  ...redisReplicaEnv(redis.url, { TOLLGATE_PROXY_UPSTREAM: upstream.origin }),
  MODULE_LIST_FILE: moduleList,
  NODE_OPTIONS: `--import=${hook}`,
  _TAPJS_PROCESSINFO_COVERAGE_: '0',
};
const run = runCli(['serve', '--role', 'proxy'], env, undefined, false, bundleMain);
t.teardown(() => run.child.kill('SIGKILL'));
process.once('exit', () => run.child.kill('SIGKILL'));
const listening = await run.logLine('tollgate listening');

t.test('the proxy role from the bundle is ready and refuses a request without a token', async (t) => {
  const ready = await request(`http://127.0.0.1:${listening.adminPort}/readyz`);
  t.same([ready.statusCode, await ready.body.json()], [200, { status: 'ready', store: 'redis' }]);
  const res = await request(`http://127.0.0.1:${listening.proxyPort}/v1/repositories/sensors/query`);
  t.equal(res.statusCode, 401);
  await res.body.dump();
});

t.test('and loads none of the control plane', async (t) => {
  run.child.kill('SIGTERM');
  t.equal(await run.exited, 0, 'drains and exits 0 on SIGTERM');
  const chunks = readFileSync(moduleList, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith('file:') && url.includes('/dist/bundle/'))
    .map((url) => relative(root, fileURLToPath(url)));
  const inputs = chunks.flatMap((chunk) => Object.keys(meta.outputs[chunk]?.inputs ?? { [`${chunk}: not in the metafile`]: true }));
  for (const wanted of ['dist/roles/data-plane.js', 'dist/proxy/server.js', 'dist/probes/probe-server.js']) t.ok(inputs.includes(wanted), `loaded ${wanted}`);
  t.ok(
    inputs.some((input) => input.startsWith('node_modules/ioredis/')),
    'and the store client',
  );
  const controlPlane = [
    /^dist\/admin\//,
    /^dist\/roles\/control-plane\.js$/,
    /^dist\/events\/(sender|outbox|expiry-sweep|emitting-store|backoff)\.js$/,
    /^dist\/store\/redis\/token-index\.js$/,
    /^dist\/cli\/(output|table|admin-client|admin-commands|token-commands|directory-commands)\.js$/,
    /^node_modules\/(qrcode|pngjs|dijkstrajs|yargs)\//,
    /not in the metafile/,
  ];
  t.same(
    inputs.filter((input) => controlPlane.some((pattern) => pattern.test(input))),
    [],
    'no control-plane module in any chunk it loaded',
  );
});
