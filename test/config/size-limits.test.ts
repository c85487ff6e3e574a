import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const faultsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env });
  } catch (err) {
    if (err instanceof ConfigError) return err.faults;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

t.test('cache sizes past a million entries are refused: lru-cache allocates every slot at start', async (t) => {
  // Measured: max and negativeMax of 10 million each took 480 MB and 3.3 s before the first request.
  t.same(faultsOf({ TOLLGATE_CACHE_MAX: '10000000' }), ['cache.max: expected a whole number from 1 to 1000000, got 10000000']);
  t.same(faultsOf({ TOLLGATE_CACHE_NEGATIVE_MAX: '10000000' }), ['cache.negativeMax: expected a whole number from 1 to 1000000, got 10000000']);
  const config = loadConfig({
    path: '/nonexistent/tollgate.yaml',
    required: false,
    env: { TOLLGATE_CACHE_MAX: '1000000', TOLLGATE_CACHE_NEGATIVE_MAX: '1000000' },
  });
  t.equal(config.cache.max, 1_000_000);
});

t.test('upstream connections past 10000 are refused', async (t) => {
  t.same(faultsOf({ TOLLGATE_PROXY_CONNECTIONS: '100000' }), ['proxy.connections: expected a whole number from 1 to 10000, got 100000']);
  t.same(faultsOf({ TOLLGATE_PROXY_CONNECTIONS: '0' }), ['proxy.connections: expected a whole number from 1 to 10000, got 0']);
});
