import type { Config } from '../config/schema.js';
import type { TokenStore } from './token-store.js';

// Backends are imported when chosen: a file-store sidecar never loads ioredis (~20 MiB of RSS).

/** What a store reports that only a log line can tell an operator. */
export interface StoreEvents {
  /** The invalidation subscription was silent for three heartbeats: cache reset, subscriber renewed. */
  onChannelSilent?: (silentMs: number) => void;
}

/** Builds the backend the configuration names, opened and ready to use. */
export async function createStore(config: Config['store'], events: StoreEvents = {}): Promise<TokenStore> {
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
        waitReplicas: config.redis.waitReplicas,
        waitTimeoutMs: config.redis.waitTimeout,
        ...events,
      });
      // Start serving even if Redis is still down: requests fail closed and /readyz says so.
      await store.waitUntilReady(2000);
      // On Cluster a token's change and its counters are two scripts: recount once at start, in
      // the background (the counters feed metrics only; requests never wait for them).
      if (config.redis.cluster.length > 0) void store.reconcile().catch(() => {});
      return store;
    }
  }
}
