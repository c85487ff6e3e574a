import t from 'tap';
import { RedisStore } from '../../src/store/redis-store.js';
import { startReplicaPair } from '../helpers/redis-replica.js';
import { storeContract } from './store-contract.js';

// The whole store contract with store.redis.waitReplicas 1 on a master with one replica: every
// write is then followed by WAIT on the writer connection, and each still answers as the
// contract says (and a WAIT counted short would fail the write, so the contract would fail).
const pair = await startReplicaPair();
t.teardown(() => pair.stop());
let n = 0;
storeContract(t, async () => {
  const store = new RedisStore({ url: pair.master.url, keyPrefix: `w${n++}:`, commandTimeoutMs: 1000, waitReplicas: 1, waitTimeoutMs: 5000 });
  await store.waitUntilReady(5000);
  return store;
});

t.test('the contract ran with WAITs', async (t) => {
  t.ok((await pair.waitsServed()) > 0, 'the master served WAITs for the contract writes');
});
