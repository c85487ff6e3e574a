import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Pool } from './proxy/upstream-pool.js';
import type { Clock } from './clock.js';
import type { Config } from './config/schema.js';
import { LastUsedRecorder } from './auth/last-used.js';
import { RouteTable } from './auth/routes.js';
import { TokenCache } from './auth/token-cache.js';
import { createAdminServer } from './admin/server.js';
import { TokenService } from './admin/token-service.js';
import { DirectoryService } from './admin/user-service.js';
import type { Logger } from './log/logger.js';
import { Metrics } from './metrics/metrics.js';
import { ProxyServer } from './proxy/server.js';
import type { TokenStore } from './store/token-store.js';

export interface Tollgate {
  proxyPort: number;
  adminPort: number;
  store: TokenStore;
  tokens: TokenService;
  directory: DirectoryService;
  /** Stops taking requests, lets those in flight finish within the grace period, closes the store. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Builds every part from the config and starts both listeners: the wiring, nothing else. */
export async function startTollgate(config: Config, store: TokenStore, logger: Logger, clock: Clock): Promise<Tollgate> {
  let isDraining = false;
  let cache: TokenCache | undefined;
  const metrics = new Metrics({
    cacheEntries: () => cache?.size ?? 0,
    isStoreUp: () => store.ping().then(() => true, () => false),
    tokenCounts: () => store.countTokens(clock.now()),
  });
  cache = new TokenCache({
    store,
    clock,
    observer: metrics,
    max: config.cache.max,
    ttlMs: config.cache.ttl,
    negativeMax: config.cache.negativeMax,
    negativeTtlMs: config.cache.negativeTtl,
    staleIfErrorMs: config.cache.staleIfError,
  });
  store.subscribe(cache);
  const lastUsed = new LastUsedRecorder(store, clock, config.cache.lastUsedInterval, (err) => {
    metrics.storeError('touchLastUsed');
    logger.warn({ err: (err as Error).message }, 'lastUsedAt write failed; will retry');
  });
  lastUsed.start();
  const tokens = new TokenService({ store, clock, eviction: cache, connectUri: config.admin.connectUri });
  const directory = new DirectoryService(store, clock, tokens);

  const upstream = new Pool(config.proxy.upstream, {
    connections: config.proxy.connections,
    connect: { timeout: config.proxy.timeouts.connect },
    headersTimeout: config.proxy.timeouts.headers,
    bodyTimeout: config.proxy.timeouts.idle,
    keepAliveTimeout: 4000,
  });
  const proxy = new ProxyServer({
    upstream,
    cache,
    routes: new RouteTable(config.routes),
    lastUsed,
    metrics,
    logger,
    clock,
    forwardAuthorization: config.proxy.forwardAuthorization,
    accessLog: config.proxy.accessLog,
    headersTimeoutMs: Math.min(config.proxy.timeouts.headers, 60_000),
    idleTimeoutMs: config.proxy.timeouts.idle,
    maxConnections: config.proxy.maxConnections,
    upstreamHeadersTimeoutMs: config.proxy.timeouts.headers,
    upstreamIdleTimeoutMs: config.proxy.timeouts.idle,
  });
  const admin = createAdminServer({
    store,
    cache,
    tokens,
    directory,
    metrics,
    logger,
    clock,
    metricsAuth: config.admin.metricsAuth,
    isDraining: () => isDraining,
  });

  const proxyPort = await listen(proxy.server, config.proxy.listen);
  const adminPort = await listen(admin, config.admin.listen);
  logger.info({ proxyPort, adminPort, upstream: config.proxy.upstream, store: store.backend }, 'tollgate listening');

  return {
    proxyPort,
    adminPort,
    store,
    tokens,
    directory,
    async shutdown(graceMs = config.proxy.shutdownGrace) {
      // SPEC §6: readiness fails at once, the proxy stops accepting, requests in flight (uploads
      // and downloads too) get until the grace period ends, idle keep-alive connections are
      // closed now and busy ones after their response. The admin port stays up meanwhile, so
      // /readyz says 503 and /metrics can still be scraped.
      isDraining = true;
      const drained = proxy.drain();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([drained, grace]);
      proxy.server.closeAllConnections();
      const adminClosed = close(admin);
      admin.closeAllConnections();
      await adminClosed;
      await lastUsed.stop().catch(() => {});
      await upstream.close().catch(() => {});
      await store.close();
    },
  };
}

function listen(server: Server, address: { host: string; port: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
