import t from 'tap';
import { RedisStore } from '../../src/store/redis-store.js';
import { startRedis } from '../helpers/redis-server.js';
import { storeContract } from './store-contract.js';

const redis = await startRedis();
t.teardown(() => redis.stop());
let n = 0;
storeContract(t, async () => {
  // A fresh key prefix per test keeps tests apart without flushing the server.
  const store = new RedisStore({ url: redis.url, keyPrefix: `t${n++}:`, commandTimeoutMs: 1000 });
  await store.waitUntilReady(5000);
  return store;
});
