import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ListenAddress } from '../../config/schema.js';

export interface RedisTopology {
  url: string;
  commandTimeoutMs: number;
  /** Sentinel addresses; with `sentinelName`, the master is found through them. */
  sentinels?: ListenAddress[];
  sentinelName?: string;
  /** Seed nodes of a Redis Cluster. */
  cluster?: ListenAddress[];
}

export type RedisClient = Redis | Cluster;

const backoff = (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000);

/**
 * Opens a connection of the configured topology, set for a proxy's hot path: no offline queue
 * (a command while disconnected fails at once), a short command timeout, bounded reconnect
 * backoff. The subscriber role keeps an offline queue and no timeout: it only waits for messages.
 */
export function connectRedis(topology: RedisTopology, role: 'commands' | 'subscriber'): RedisClient {
  const isCommands = role === 'commands';
  const options: RedisOptions = {
    enableOfflineQueue: !isCommands,
    commandTimeout: isCommands ? topology.commandTimeoutMs : undefined,
    connectTimeout: Math.max(1000, topology.commandTimeoutMs * 4),
    maxRetriesPerRequest: isCommands ? 0 : null,
    retryStrategy: backoff,
    // Batches commands issued in one tick (a page of HGETALLs) per node without explicit pipelines,
    // which Cluster would refuse across slots.
    enableAutoPipelining: isCommands,
  };
  let client: RedisClient;
  if (topology.cluster && topology.cluster.length > 0) {
    const url = new URL(topology.url);
    client = new Cluster(
      topology.cluster.map(({ host, port }) => ({ host, port })),
      {
        enableOfflineQueue: !isCommands,
        enableAutoPipelining: isCommands,
        clusterRetryStrategy: backoff,
        redisOptions: { ...options, password: url.password || undefined, username: url.username || undefined },
      },
    );
  } else if (topology.sentinels && topology.sentinels.length > 0) {
    client = new Redis(topology.url, {
      ...options,
      sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
      name: topology.sentinelName,
      sentinelRetryStrategy: backoff,
    });
  } else {
    client = new Redis(topology.url, options);
  }
  client.on('error', () => {}); // reported through failed commands, /readyz and tollgate_store_up
  return client;
}
