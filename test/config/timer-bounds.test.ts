import fc from 'fast-check';
import t from 'tap';
import { DEFAULTS } from '../../src/config/defaults.js';
import { ConfigError, envName, loadConfig, validate } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

/** The largest delay setTimeout honours; beyond it Node warns and fires after 1 ms. */
const TIMER_MAX = 2 ** 31 - 1;

/** Every duration key but staleIfError: timers (setTimeout/setInterval, undici, Node server, lru-cache ttl) and the cache ttl, which a 0 would switch off. */
const TIMER_KEYS: Array<(c: Config) => number> = [
  (c) => c.proxy.timeouts.connect,
  (c) => c.proxy.timeouts.headers,
  (c) => c.proxy.timeouts.idle,
  (c) => c.proxy.shutdownGrace,
  (c) => c.admin.timeouts.headers,
  (c) => c.admin.timeouts.request,
  (c) => c.store.redis.commandTimeout,
  // connectTimeout in src/store/redis/connection.ts is four times the command timeout.
  (c) => c.store.redis.commandTimeout * 4,
  (c) => c.cache.ttl,
  (c) => c.cache.negativeTtl,
  (c) => c.cache.lastUsedInterval,
];
const DURATION_PATHS = [
  ['proxy', 'timeouts', 'connect'],
  ['proxy', 'timeouts', 'headers'],
  ['proxy', 'timeouts', 'idle'],
  ['proxy', 'shutdownGrace'],
  ['admin', 'timeouts', 'headers'],
  ['admin', 'timeouts', 'request'],
  ['store', 'redis', 'commandTimeout'],
  ['cache', 'ttl'],
  ['cache', 'negativeTtl'],
  ['cache', 'staleIfError'],
  ['cache', 'lastUsedInterval'],
];

// Durations across every unit and magnitude, from 0 to far beyond 2^31-1 ms, with fractions.
const duration = fc
  .tuple(
    fc.oneof(fc.nat(100), fc.nat(100_000), fc.nat(Number.MAX_SAFE_INTEGER)),
    fc.option(fc.nat(999), { nil: undefined }),
    fc.constantFrom('ms', 's', 'm', 'h', 'd'),
  )
  .map(([whole, fraction, unit]) => `${whole}${fraction === undefined ? '' : `.${fraction}`}${unit}`);

const setting = fc.tuple(fc.constantFrom(...DURATION_PATHS), duration);

t.test('any accepted config gives every timer a value within [1, 2^31-1] ms, and staleIfError within [0, 2^31-1]', async (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(setting, { minLength: 1, maxLength: 4 }), fc.boolean(), (settings, viaEnv) => {
      const tree = structuredClone(DEFAULTS) as unknown as Record<string, Record<string, unknown>>;
      const env: NodeJS.ProcessEnv = {};
      for (const [path, value] of settings) {
        if (viaEnv) env[envName(path)] = value;
        else {
          let node: Record<string, unknown> = tree;
          for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
          node[path[path.length - 1]!] = value;
        }
      }
      let config: Config;
      try {
        config = viaEnv ? loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env }) : validate(tree);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // A refusal names one of the keys that was set.
        return err.faults.every((fault) => settings.some(([path]) => fault.startsWith(`${path.join('.')}: `)));
      }
      accepted++;
      const inTimerRange = TIMER_KEYS.every((read) => {
        const ms = read(config);
        return Number.isInteger(ms) && ms >= 1 && ms <= TIMER_MAX;
      });
      return inTimerRange && config.cache.staleIfError >= 0 && config.cache.staleIfError <= TIMER_MAX;
    }),
    { numRuns: 3000 },
  );
  t.ok(accepted > 100, `some configs were accepted (${accepted})`);
});
