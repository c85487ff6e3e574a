import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { runToEnd } from '../helpers/cli.js';
import { faultsOf, fromYaml } from '../helpers/config.js';

// store.redis.waitReplicas and waitTimeout (docs/stores.md, "A failover can lose a revocation"):
// off by default, each bad value one fault naming its key, and refused with a Cluster.
const load = (env: Record<string, string>) => loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env });

t.test('off by default: no replica is awaited, and the timeout is 1 s', async (t) => {
  const config = load({});
  t.equal(config.store.redis.waitReplicas, 0);
  t.equal(config.store.redis.waitTimeout, 1000);
});

t.test('a file and the environment set them', async (t) => {
  const config = fromYaml(t, 'store:\n  backend: redis\n  redis:\n    waitReplicas: 1\n    waitTimeout: 500ms\n');
  t.equal(config.store.redis.waitReplicas, 1);
  t.equal(config.store.redis.waitTimeout, 500);
  const fromEnv = load({ TOLLGATE_STORE_REDIS_WAIT_REPLICAS: '2', TOLLGATE_STORE_REDIS_WAIT_TIMEOUT: '2s' });
  t.equal(fromEnv.store.redis.waitReplicas, 2);
  t.equal(fromEnv.store.redis.waitTimeout, 2000);
});

t.test('bad values are one fault each, naming the key', async (t) => {
  for (const bad of ['-1', '1.5', 'one', '17']) {
    t.match(
      faultsOf(() => load({ TOLLGATE_STORE_REDIS_WAIT_REPLICAS: bad })),
      [/^store\.redis\.waitReplicas: expected a whole number from 0 to 16, got /],
      bad,
    );
  }
  // 0 would be WAIT's own "block until they answer": never a hang on the admin path.
  for (const bad of ['0s', '5ms', '2m', '1000']) {
    t.match(
      faultsOf(() => load({ TOLLGATE_STORE_REDIS_WAIT_TIMEOUT: bad })),
      [/^store\.redis\.waitTimeout: expected a duration/],
      bad,
    );
  }
});

t.test('a Cluster refuses waitReplicas above 0, naming the key; 0 stays allowed', async (t) => {
  const cluster = { TOLLGATE_STORE_REDIS_CLUSTER: '["127.0.0.1:7000"]' };
  t.same(
    faultsOf(() => load({ ...cluster, TOLLGATE_STORE_REDIS_WAIT_REPLICAS: '1' })),
    ['store.redis.waitReplicas: expected 0 with cluster (Tollgate cannot wait for replicas on a Redis Cluster), got 1'],
  );
  t.equal(load({ ...cluster, TOLLGATE_STORE_REDIS_WAIT_REPLICAS: '0' }).store.redis.waitReplicas, 0);
});

t.test('serve with a bad waitReplicas exits 2 naming the key before anything starts', async (t) => {
  const run = await runToEnd(['serve'], { TOLLGATE_STORE_BACKEND: 'redis', TOLLGATE_STORE_REDIS_WAIT_REPLICAS: 'all' });
  t.equal(run.code, 2);
  t.match(run.stderr, /invalid configuration\n {2}store\.redis\.waitReplicas: expected a whole number from 0 to 16, got "all"/);
});
