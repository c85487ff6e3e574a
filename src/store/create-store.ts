import type { Config } from '../config/schema.js';
import { FileStore } from './file-store.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { TokenStore } from './token-store.js';

/** Builds the backend the configuration names, opened and ready to use. */
export async function createStore(config: Config['store']): Promise<TokenStore> {
  switch (config.backend) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return FileStore.open(config.file.path);
    case 'redis': {
      const store = new RedisStore({
        url: config.redis.url,
        keyPrefix: config.redis.keyPrefix,
        commandTimeoutMs: config.redis.commandTimeout,
        sentinels: config.redis.sentinels,
        sentinelName: config.redis.name,
        cluster: config.redis.cluster,
      });
      // Start serving even if Redis is still down: requests fail closed and /readyz says so.
      await store.waitUntilReady(2000);
      return store;
    }
  }
}
