import t from 'tap';
import { RedisStore } from '../../src/store/redis-store.js';
import type { TokenStore } from '../../src/store/token-store.js';
import { startSentinel } from '../helpers/redis-topologies.js';
import { organizationContract } from './organization-contract.js';

// The organization part of the store contract through Redis Sentinel (the whole contract runs on
// one node and on a Cluster; Sentinel's own failover is tested in test/store/redis-sentinel.test.ts).
const sentinel = await startSentinel();
t.teardown(() => sentinel.stop());
let n = 0;
let store: TokenStore;
t.beforeEach(async () => {
  const next = new RedisStore({
    url: 'redis://127.0.0.1/0',
    sentinels: [{ host: '127.0.0.1', port: sentinel.sentinel }],
    sentinelName: 'mymaster',
    keyPrefix: `so${n++}:`,
    commandTimeoutMs: 1000,
  });
  await next.waitUntilReady(10_000);
  store = next;
});
t.afterEach(() => store.close());
organizationContract(t, () => store);
