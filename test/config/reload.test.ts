import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigWatch, fingerprintOf } from '../../src/config/config-watch.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { ConfigError, formatFaults, loadConfig, merge, validate } from '../../src/config/load.js';
import { ConfigReloader, changedKeys } from '../../src/config/reload.js';
import { createLogger } from '../../src/log/logger.js';
import { type DataPlaneRunning, dataPlaneParts } from '../../src/proxy/data-plane-reload.js';
import { DATA_PLANE_KEYS } from '../../src/roles/replica.js';
import { startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

type Tree = Record<string, unknown>;
const leaves = (tree: Tree, prefix = ''): string[] =>
  Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? leaves(value as Tree, `${prefix}${key}.`) : [`${prefix}${key}`],
  );

t.test('every key reloads or waits for a restart exactly as docs/configuration.md says', async (t) => {
  const h = await startHarness({});
  t.teardown(() => h.close());
  const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const section = /^## Reloading\n([\s\S]*?)^## /m.exec(docs)![1]!;
  const table = section.split('\n').filter((line) => line.startsWith('| `'));
  const reloading = new Set(table.flatMap((line) => [...line.split(' | ')[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));
  const restartText = /Keys that need a restart([\s\S]*?)\n\n/.exec(section)![1]!;
  const restart = [...restartText.matchAll(/`([a-zA-Z.]+)`/g)].map((m) => m[1]!);
  for (const key of leaves(DEFAULTS)) {
    const isReloadable = h.tollgate.reloader.isReloadable(key);
    t.equal(
      reloading.has(key),
      isReloadable,
      `${key}: ${isReloadable ? 'reloads' : 'needs a restart'}, and the table ${reloading.has(key) ? 'lists' : 'does not list'} it`,
    );
    if (!isReloadable)
      t.ok(
        restart.some((prefix) => key === prefix || key.startsWith(`${prefix}.`)),
        `${key} is named among the keys that need a restart`,
      );
  }
});

t.test("a control replica takes the data plane's keys as they are: the list names exactly what its parts own", async (t) => {
  const owned = dataPlaneParts({} as DataPlaneRunning).flatMap((part) => part.keys);
  t.same([...new Set(owned)].sort(), [...DATA_PLANE_KEYS].sort());
});

t.test('admin keys reload: /metrics asks for a token, new expiries are capped, /v1/settings says so', async (t) => {
  const h = await startHarness({});
  t.teardown(() => h.close());
  const { request } = await import('undici');
  t.equal((await request(`${h.admin}/metrics`)).statusCode, 200);
  const result = h.tollgate.reloader.apply(
    validate(
      merge(DEFAULTS, {
        proxy: { listen: '127.0.0.1:0', upstream: h.upstream.origin, accessLog: false },
        admin: { listen: '127.0.0.1:0', metricsAuth: true, maxTokenLifetime: '1d' },
        store: { backend: 'memory' },
        log: { level: 'silent' },
      }),
    ),
  );
  t.same(result.applied, ['admin.metricsAuth', 'admin.maxTokenLifetime']);
  t.equal((await request(`${h.admin}/metrics`)).statusCode, 401, 'a token is asked for now');
  t.equal((await request(`${h.admin}/metrics`, { headers: { authorization: `Bearer ${h.adminSecret}` } })).statusCode, 200);
  const settings = (await (await request(`${h.admin}/v1/settings`, { headers: { authorization: `Bearer ${h.adminSecret}` } })).body.json()) as Record<
    string,
    unknown
  >;
  t.equal(settings.maxTokenLifetimeSeconds, 86_400);
});

t.test('a list and a listen address each change as one key', async (t) => {
  const base = validate(merge(DEFAULTS, {}));
  const next = validate(merge(DEFAULTS, { proxy: { listen: '127.0.0.1:1' }, routes: [{ path: '/x' }], events: { webhooks: [] } }));
  t.same(changedKeys(base, next), ['proxy.listen', 'routes']);
  t.same(changedKeys(base, validate(merge(DEFAULTS, {}))), []);
});

t.test('a restart-only key keeps its running value, and the next reload of the same file changes nothing', async (t) => {
  const logged: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', {
    write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>),
  } as unknown as NodeJS.WritableStream);
  const applied: string[] = [];
  const start = validate(merge(DEFAULTS, {}));
  const reloader = new ConfigReloader({ config: start, parts: [{ keys: ['log.level'], apply: (next) => void applied.push(next.log.level) }], logger });
  const next = validate(merge(DEFAULTS, { store: { backend: 'memory' }, log: { level: 'debug' } }));
  const result = reloader.apply(next);
  t.same(result, { outcome: 'applied', generation: 2, applied: ['log.level'], restartNeeded: ['store.backend'] });
  t.same(applied, ['debug']);
  t.equal(reloader.config.store.backend, 'file', 'the running store is kept');
  t.equal(reloader.config.log.level, 'debug');
  t.same(reloader.apply(next).outcome, 'unchanged');
  t.equal(reloader.generation, 2);
  t.same(
    logged.filter((line) => line.level === 40).map((line) => line.keys),
    [['store.backend'], ['store.backend']],
  );
});

t.test('a secret that changes is named, never shown', async (t) => {
  const logged: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logged.push(line) } as unknown as NodeJS.WritableStream);
  const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
  const start = validate(merge(DEFAULTS, {}));
  const reloader = new ConfigReloader({ config: start, parts: [{ keys: ['events'], apply() {} }], logger });
  reloader.apply(validate(merge(DEFAULTS, { events: { webhooks: [{ url: 'https://hooks.example/in?key=k1', secret }] } })));
  t.match(logged.join(''), /"changed":\["events.webhooks"\]/);
  t.notMatch(logged.join(''), secret);
  t.notMatch(logged.join(''), 'k1');
});

t.test('a fault in the file names its line; one from the environment names none', async (t) => {
  const dir = t.testdir({ 'tollgate.yaml': 'log:\n  level: info\ncache:\n  max: 5\n  ttl: thirty\n' });
  try {
    loadConfig({ path: join(dir, 'tollgate.yaml'), required: true, env: { TOLLGATE_CACHE_NEGATIVE_MAX: '0' } });
    t.fail('expected a ConfigError');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    const faults = formatFaults(err as ConfigError);
    t.match(faults, [
      new RegExp(`^  cache\\.ttl: expected a duration .* \\(${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/tollgate\\.yaml:5\\)$`),
      /^ {2}cache\.negativeMax: expected a whole number .*got 0$/,
    ]);
  }
});

t.test("the watch calls once the file's bytes change, not for another file in its folder", async (t) => {
  const dir = t.testdir({ 'tollgate.yaml': 'log:\n  level: info\n', 'other.txt': '' });
  let calls = 0;
  const watch = new ConfigWatch({ path: join(dir, 'tollgate.yaml'), changed: () => calls++, debounceMs: 20 });
  watch.start();
  t.teardown(() => watch.stop());
  writeFileSync(join(dir, 'other.txt'), 'noise');
  writeFileSync(join(dir, 'tollgate.yaml'), 'log:\n  level: info\n');
  writeFileSync(join(dir, 'tollgate.yaml'), 'log:\n  level: debug\n');
  await waitFor(() => calls === 1, { what: 'one call for the changed file' });
  writeFileSync(join(dir, 'other.txt'), 'more noise');
  writeFileSync(join(dir, 'tollgate.yaml'), 'log:\n  level: warn\n');
  await waitFor(() => calls === 2, { what: 'a second call for the second change' });
  t.equal(calls, 2);
});

t.test('a file changed between its load and the watch start is reloaded without waiting for another change', async (t) => {
  const dir = t.testdir({ 'tollgate.yaml': 'log:\n  level: info\n' });
  const path = join(dir, 'tollgate.yaml');
  const loaded = fingerprintOf(path);
  writeFileSync(path, 'log:\n  level: debug\n');
  let calls = 0;
  const watch = new ConfigWatch({ path, loaded, changed: () => calls++, debounceMs: 20 });
  watch.start();
  t.teardown(() => watch.stop());
  await waitFor(() => calls === 1, { what: 'the change made before the watch to be reported' });
  t.equal(calls, 1);
});
