import { join } from 'node:path';
import type { Test } from 'tap';
import { FileStore } from '../../src/store/file-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { TokenStore } from '../../src/store/token-store.js';
import { startRedis } from './redis-server.js';

let prefixes = 0;

/** Store factories for the file and Redis backends (a private redis-server for this test file). */
export async function persistentBackends(t: Test): Promise<Record<'file' | 'redis', () => Promise<TokenStore>>> {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const dir = t.testdir({});
  return {
    file: () => FileStore.open(join(dir, `store-${prefixes++}.jsonl`)),
    redis: async () => {
      const store = new RedisStore({ url: redis.url, keyPrefix: `p${prefixes++}:`, commandTimeoutMs: 1000 });
      await store.waitUntilReady(5000);
      return store;
    },
  };
}
