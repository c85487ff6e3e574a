import t from 'tap';
import { envName, loadConfig } from '../../src/config/load.js';
import { faultsOf, fromYaml } from '../helpers/config.js';

/** Every duration key, with the range docs/configuration.md documents for it. */
const RANGES: Array<[path: string[], min: string, max: string]> = [
  [['proxy', 'timeouts', 'connect'], '10ms', '5m'],
  [['proxy', 'timeouts', 'headers'], '100ms', '10m'],
  [['proxy', 'timeouts', 'idle'], '1s', '24h'],
  [['proxy', 'shutdownGrace'], '100ms', '1h'],
  [['admin', 'timeouts', 'headers'], '100ms', '10m'],
  [['admin', 'timeouts', 'request'], '1s', '1h'],
  [['store', 'redis', 'commandTimeout'], '10ms', '1m'],
  [['cache', 'ttl'], '100ms', '1h'],
  [['cache', 'negativeTtl'], '100ms', '1h'],
  [['cache', 'staleIfError'], '0s', '1h'],
  [['cache', 'lastUsedInterval'], '1s', '1h'],
];

const yamlSetting = (path: string[], value: string): string =>
  `${path.map((key, depth) => `${'  '.repeat(depth)}${key}:${depth === path.length - 1 ? ` ${value}` : ''}`).join('\n')}\n`;

t.test('a lastUsedInterval of 30d, past what a timer holds, is refused naming the key and the range', async (t) => {
  // Node clamps a timer beyond 2^31-1 ms to 1 ms: the lastUsedAt flush ran in a busy loop.
  t.same(
    faultsOf(() => fromYaml(t, 'cache:\n  lastUsedInterval: 30d\n')),
    ['cache.lastUsedInterval: expected a duration from 1s to 1h, got "30d"'],
  );
});

t.test('a shutdownGrace of 30d is refused (it fired at once and cut every request in flight)', async (t) => {
  t.same(
    faultsOf(() => fromYaml(t, 'proxy:\n  shutdownGrace: 30d\n')),
    ['proxy.shutdownGrace: expected a duration from 100ms to 1h, got "30d"'],
  );
});

t.test('proxy.timeouts.headers of 0s is refused (it turned the slowloris guard off)', async (t) => {
  t.same(
    faultsOf(() => fromYaml(t, 'proxy:\n  timeouts:\n    headers: 0s\n')),
    ['proxy.timeouts.headers: expected a duration from 100ms to 10m, got "0s"'],
  );
});

t.test('a duration that rounds to 0 ms is refused like 0s', async (t) => {
  t.same(
    faultsOf(() => fromYaml(t, 'proxy:\n  timeouts:\n    connect: 0.0001ms\n')),
    ['proxy.timeouts.connect: expected a duration from 10ms to 5m, got "0.0001ms"'],
  );
});

t.test('every duration key takes its bounds and refuses just outside them, from the file', async (t) => {
  for (const [path, min, max] of RANGES) {
    const key = path.join('.');
    const read = (value: string) => path.reduce<unknown>((node, k) => (node as Record<string, unknown>)[k], fromYaml(t, yamlSetting(path, value)));
    t.ok(typeof read(min) === 'number' && typeof read(max) === 'number', `${key} takes ${min} and ${max}`);
    const fault = `${key}: expected a duration from ${min} to ${max}, got`;
    t.same(
      faultsOf(() => fromYaml(t, yamlSetting(path, '25d'))),
      [`${fault} "25d"`],
      `${key} refuses 25d`,
    );
    if (min !== '0s')
      t.same(
        faultsOf(() => fromYaml(t, yamlSetting(path, '0s'))),
        [`${fault} "0s"`],
        `${key} refuses 0s`,
      );
  }
});

t.test('every duration key is checked the same way through its environment variable', async (t) => {
  for (const [path, min, max] of RANGES) {
    const name = envName(path);
    const key = path.join('.');
    t.same(
      faultsOf(() => fromYaml(t, '', { [name]: '30d' })),
      [`${key}: expected a duration from ${min} to ${max}, got "30d"`],
      name,
    );
    if (min !== '0s')
      t.same(
        faultsOf(() => fromYaml(t, '', { [name]: '0s' })),
        [`${key}: expected a duration from ${min} to ${max}, got "0s"`],
        name,
      );
    t.doesNotThrow(() => fromYaml(t, '', { [name]: max }), `${name}=${max}`);
  }
  t.equal(envName(['cache', 'lastUsedInterval']), 'TOLLGATE_CACHE_LAST_USED_INTERVAL');
});

t.test('staleIfError may be 0s: no stale answers while the store is down', async (t) => {
  t.equal(fromYaml(t, 'cache:\n  staleIfError: 0s\n').cache.staleIfError, 0);
});

t.test('the defaults sit inside every range', async (t) => {
  const config = loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env: {} });
  t.equal(config.cache.lastUsedInterval, 60_000);
  t.equal(config.proxy.shutdownGrace, 25_000);
});
