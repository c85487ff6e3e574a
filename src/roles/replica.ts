import type { Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { type CacheStore, type PrincipalSource, TokenCache } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import type { ConfigPart } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Invalidation, Invalidations, StoreHealth } from '../store/token-store.js';

/**
 * What every role holds: the token cache (the proxy judges with it, the admin API authenticates
 * with it). `principals`: where it finds verified workload identities (docs/workload-identity.md).
 */
export function createTokenCache(config: Config, store: CacheStore, clock: Clock, metrics: Metrics, principals?: PrincipalSource): TokenCache {
  return new TokenCache({
    store,
    principals,
    clock,
    observer: metrics,
    max: config.cache.max,
    ttlMs: config.cache.ttl,
    negativeMax: config.cache.negativeMax,
    negativeTtlMs: config.cache.negativeTtl,
    staleIfErrorMs: config.cache.staleIfError,
  });
}

/** Every key the data plane's parts own (a control replica, which has none of them, takes them as applied). */
export const DATA_PLANE_KEYS = [
  'cache.lastUsedInterval',
  'cache.ttl',
  'decision.pathPrefix',
  'proxy.accessLog',
  'proxy.connections',
  'proxy.endOnRevoke',
  'proxy.forwardAuthorization',
  'proxy.maxConnections',
  'proxy.shutdownGrace',
  'proxy.timeouts',
  'proxy.trustedProxies',
  'proxy.upstream',
  'routes',
  'usage.flushInterval',
  'usage.retention',
] as const;

/** Every key the control plane's parts own (a proxy replica's probe port reads `admin.metricsAuth` of them). */
export const CONTROL_PLANE_KEYS = ['admin.metricsAuth', 'admin.connectUri', 'admin.maxTokenLifetime'] as const;

/**
 * What every role swaps on a reload: the log level, and the token cache's sizes and TTLs (the
 * proxy judges with the cache, the admin API authenticates with it).
 */
export function replicaParts(logger: Logger, cache: TokenCache): ConfigPart[] {
  return [
    {
      keys: ['log.level'],
      apply: (next) => {
        logger.level = next.log.level;
      },
    },
    {
      keys: ['cache.max', 'cache.ttl', 'cache.negativeMax', 'cache.negativeTtl', 'cache.staleIfError'],
      apply: (next) =>
        cache.resize({
          max: next.cache.max,
          ttlMs: next.cache.ttl,
          negativeMax: next.cache.negativeMax,
          negativeTtlMs: next.cache.negativeTtl,
          staleIfErrorMs: next.cache.staleIfError,
        }),
    },
  ];
}

/** Who else hears the store's invalidations after the cache (the open exchanges of a proxy). */
export interface InvalidationFollower {
  onInvalidation(message: Invalidation): void;
  onReset(): void;
}

/**
 * Feeds the store's invalidation channel to the cache, then to `follower`: an exchange re-reads its
 * token after the cache has dropped it, so it sees the change. Logs each store outage, recovery
 * and reconnect once.
 */
export function followStore(
  store: Pick<Invalidations, 'subscribe'> & Pick<StoreHealth, 'watchHealth'>,
  cache: TokenCache,
  follower: InvalidationFollower | undefined,
  logger: Logger,
  clock: Clock,
): void {
  let downSince = 0;
  store.watchHealth?.({
    onOutage(op, err) {
      downSince = clock.now();
      logger.error({ op, err: err instanceof Error ? err.message : String(err) }, 'token store unavailable: uncached tokens get 503 until it answers');
    },
    onRecovery() {
      logger.warn({ downMs: clock.now() - downSince }, 'token store answering again');
    },
    onReconnect(connection) {
      logger.warn({ connection }, 'token store connection re-established');
    },
  });
  store.subscribe({
    onMessage(message) {
      cache.onMessage(message);
      follower?.onInvalidation(message);
    },
    onReset() {
      logger.warn('token cache cleared: invalidations may have been missed while the subscriber was away');
      cache.onReset();
      follower?.onReset();
    },
  });
}

/** Listens on `address` and resolves with the port taken (port 0 picks one). */
export function listen(server: NetServer, address: { host: string; port: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting and ends every connection at once; resolves when the server has closed. */
export function closeNow(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

/** Resolves after `ms`, without holding the process open. */
export const graceOf = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
