import { spawnSync } from 'node:child_process';
import t from 'tap';

/**
 * V8 keeps a built-in prototype's methods on a fast map only until something turns it into a
 * dictionary: `class X extends String` did that to String.prototype (ioredis 6.0's RESP3
 * VerbatimString), and from then on every `str.indexOf(...)` and `str.charCodeAt(...)` in optimized
 * code went through a generic property lookup. On the cached GET with the Redis store that was
 * 8% of the proxy's CPU (bench/RESULTS.md). This loads every module a serving process loads, each
 * store, role and optional part included, in a child node that may ask V8, and checks that the
 * prototypes the hot path calls methods on are still fast.
 */
const MODULES = [
  'cli/serve.js',
  'store/redis-store.js',
  'store/file-store.js',
  'store/memory-store.js',
  'roles/data-plane.js',
  'roles/control-plane.js',
  'probes/probe-server.js',
  'identity/jwt-authenticator.js',
  'tracing/otel-tracing.js',
  'admin/connect-uri.js',
];
const PROTOTYPES = ['String', 'Array', 'Object', 'Function', 'Number', 'Map', 'Set', 'Promise', 'Uint8Array', 'Buffer', 'Error', 'RegExp'];

t.test('built-in prototypes keep fast properties once every module is loaded', async (t) => {
  const dist = new URL('../../dist/', import.meta.url).href;
  const script = [
    `for (const m of ${JSON.stringify(MODULES)}) await import(${JSON.stringify(dist)} + m);`,
    "await import('jose');",
    // The prototypes' fast/dictionary state, as V8 sees it (natives syntax is on in this child only).
    `const fast = (o) => %HasFastProperties(o);`,
    `console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(PROTOTYPES)}.map((n) => [n, fast(globalThis[n].prototype)]))));`,
  ].join('\n');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE'));
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', env, timeout: 60_000 });
  t.equal(run.status, 0, run.stderr);
  const state = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, boolean>;
  for (const name of PROTOTYPES) t.equal(state[name], true, `${name}.prototype has fast properties`);
});
