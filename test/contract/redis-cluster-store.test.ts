import t from 'tap';
import { RedisStore } from '../../src/store/redis-store.js';
import { startCluster } from '../helpers/redis-topologies.js';
import { storeContract } from './store-contract.js';

// The whole store contract on a real 3-master Redis Cluster: every multi-key write uses hash
// tags, pub/sub crosses nodes, and listing works without cross-slot pipelines.
const cluster = await startCluster();
t.teardown(() => cluster.stop());
let n = 0;
storeContract(t, async () => {
  const store = new RedisStore({
    url: 'redis://127.0.0.1',
    cluster: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
    keyPrefix: `c${n++}:`,
    commandTimeoutMs: 1000,
  });
  await store.waitUntilReady(10_000);
  return store;
});
