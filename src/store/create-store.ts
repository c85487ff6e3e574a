import type { Config } from '../config/schema.js';
import type { TokenStore } from './token-store.js';

// Backends are imported when chosen: a file-store sidecar never loads ioredis (~20 MiB of RSS).

/** Builds the backend the configuration names, opened and ready to use. */
export async function createStore(config: Config['store']): Promise<TokenStore> {
  switch (config.backend) {
    case 'memory': {
      const { MemoryStore } = await import('./memory-store.js');
      return new MemoryStore();
    }
    case 'file': {
      const { FileStore } = await import('./file-store.js');
      return FileStore.open(config.file.path);
    }
    case 'redis': {
      const { RedisStore } = await import('./redis-store.js');
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
