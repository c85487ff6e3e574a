import { AddressList } from './auth/address-bounds.js';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Server } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import { UpstreamPool } from './proxy/upstream-pool.js';
import type { Clock } from './clock.js';
import type { Config } from './config/schema.js';
import { LastUsedRecorder } from './auth/last-used.js';
import { RouteTable } from './auth/routes.js';
import { TokenCache } from './auth/token-cache.js';
import { createAdminServer } from './admin/server.js';
import { Invalidator } from './admin/invalidator.js';
import { LeakBudget } from './admin/leak-budget.js';
import { TokenService } from './admin/token-service.js';
import { DirectoryService } from './admin/directory-service.js';
import type { Logger } from './log/logger.js';
import { readBuildInfo } from './metrics/build-info.js';
import { Metrics } from './metrics/metrics.js';
import { ProxyServer, refusalHeaders } from './proxy/server.js';
import { LiveExchanges } from './proxy/live-exchanges.js';
import { CertificateWatcher, readCertificateAtStart } from './proxy/tls-certificate.js';
import { GrpcUpstream } from './proxy/grpc-upstream.js';
import { Http2Front } from './proxy/http2-front.js';
import { DecisionStep } from './auth/decide.js';
import { Limiter } from './limits/limiter.js';
import { DecisionServer } from './decision/server.js';
import { emittingStore } from './events/emitting-store.js';
import { Outbox } from './events/outbox.js';
import type { TokenStore } from './store/token-store.js';

export interface Tollgate {
  proxyPort: number;
  adminPort: number;
  /** The decision port (docs/decision-api/README.md), when `decision.listen` is set. */
  decisionPort: number | undefined;
  store: TokenStore;
  tokens: TokenService;
  directory: DirectoryService;
  /** Webhooks out (docs/webhooks.md). */
  outbox: Outbox;
  /** Writes pending last uses now (they are otherwise written every cache.lastUsedInterval). */
  flushLastUsed(): Promise<void>;
  /** Per-token limits on this replica (docs/limits.md). */
  limits: Limiter;
  /** Stops taking requests, lets those in flight finish within the grace period, closes the store. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Builds every part from the config and starts both listeners: the wiring, nothing else. */
export async function startTollgate(config: Config, store: TokenStore, logger: Logger, clock: Clock, fetcher: typeof fetch = fetch): Promise<Tollgate> {
  let isDraining = false;
  let cache: TokenCache | undefined;
  let outbox: Outbox | undefined;
  // A certificate that cannot serve stops the start (exit 2, naming proxy.tls.cert or .key).
  const tls = config.proxy.tls.cert === '' ? undefined : readCertificateAtStart(config.proxy.tls.cert, config.proxy.tls.key);
  let certificates: CertificateWatcher | undefined;
  const metrics = new Metrics({
    cacheEntries: () => cache?.size ?? 0,
    isStoreUp: () => store.ping().then(() => true, () => false),
    tokenCounts: () => store.countTokens(clock.now()),
    expiringSoon: () => store.countExpiring(clock.now(), clock.now() + config.events.expiringNotice),
    webhookBacklog: () => outbox?.backlog() ?? Promise.resolve(0),
    certificateExpiry: () => certificates?.served.expiresAt ?? tls?.facts.expiresAt,
  }, readBuildInfo());
  outbox = new Outbox({ config: config.events, store, clock, logger, fetch: fetcher, observer: metrics });
  const events = outbox;
  // Every change the admin services write carries its event, webhooks or not: the audit log,
  // kept events.retention (docs/webhooks.md, docs/admin-api.md).
  store.keepEventsFor?.(config.events.retention);
  const adminStore = emittingStore(store, clock, () => events.wake());
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
  watchStore(store, logger, clock);
  const tokenCache = cache;
  // Exchanges in flight by token: an invalidation reaches them after the cache has dropped the
  // token, so the re-read they trigger sees the change.
  const live = new LiveExchanges({ cache, clock, metrics, endOnRevoke: config.proxy.endOnRevoke, recheckMs: config.cache.ttl });
  store.subscribe({
    onMessage: (message) => {
      tokenCache.onMessage(message);
      live.onInvalidation(message);
    },
    onReset() {
      logger.warn('token cache cleared: invalidations may have been missed while the subscriber was away');
      tokenCache.onReset();
      live.onReset();
    },
  });
  const lastUsed = new LastUsedRecorder(store, clock, config.cache.lastUsedInterval, (err) => {
    metrics.storeError('touchLastUsed');
    logger.warn({ err: (err as Error).message }, 'lastUsedAt write failed; will retry');
  });
  lastUsed.start();
  // A change made here takes effect here at once: the cache drops the token, open exchanges are judged again.
  const invalidator = new Invalidator(
    {
      apply(message) {
        cache.apply(message);
        live.onInvalidation(message);
      },
    },
    store,
  );
  const tokens = new TokenService({ store: adminStore, clock, invalidator, connectUri: config.admin.connectUri, maxLifetimeMs: config.admin.maxTokenLifetime });
  const directory = new DirectoryService({ store: adminStore, clock, tokens, invalidator });

  const upstream = new UpstreamPool({
    url: config.proxy.upstream,
    connections: config.proxy.connections,
    connectTimeoutMs: config.proxy.timeouts.connect,
    headersTimeoutMs: config.proxy.timeouts.headers,
    idleTimeoutMs: config.proxy.timeouts.idle,
  });
  // One decision step, shared by every port that judges requests.
  const limits = new Limiter({ store, clock, logger, observer: metrics });
  const limitsUpkeep = keepLimits(limits, store, logger);
  const trustedProxies = config.proxy.trustedProxies.length > 0 ? new AddressList(config.proxy.trustedProxies) : undefined;
  const decisions = new DecisionStep({ cache, routes: new RouteTable(config.routes), lastUsed, clock, limits, ...(trustedProxies ? { trustedProxies } : {}) });
  const grpc = config.proxy.grpcUpstream === '' ? undefined : new GrpcUpstream(config.proxy.grpcUpstream, config.proxy.timeouts.connect);
  const http2 = new Http2Front({
    upstream,
    grpc,
    decisions,
    metrics,
    logger,
    clock,
    // Open HTTP/2 streams and gRPC calls are ended on revocation like HTTP/1.1 exchanges.
    opened: (exchange) => live.add(exchange),
    released: (exchange) => live.remove(exchange),
    forwardAuthorization: config.proxy.forwardAuthorization,
    accessLog: config.proxy.accessLog,
    refusalHeaders,
  });
  const proxy = new ProxyServer({
    tls: tls?.options,
    http2,
    upstream,
    decisions,
    live,
    metrics,
    logger,
    clock,
    forwardAuthorization: config.proxy.forwardAuthorization,
    accessLog: config.proxy.accessLog,
    headersTimeoutMs: Math.min(config.proxy.timeouts.headers, 60_000),
    idleTimeoutMs: config.proxy.timeouts.idle,
    maxConnections: config.proxy.maxConnections,
  });
  // The decision port judges with the same step instance: one cache, one route table, one lastUsed.
  const decisionServer = config.decision.listen
    ? new DecisionServer({
        decisions,
        metrics,
        logger,
        clock,
        pathPrefix: config.decision.pathPrefix,
        forwardAuthorization: config.proxy.forwardAuthorization,
        accessLog: config.proxy.accessLog,
        headersTimeoutMs: Math.min(config.proxy.timeouts.headers, 60_000),
        idleTimeoutMs: config.proxy.timeouts.idle,
        maxConnections: config.proxy.maxConnections,
      })
    : undefined;
  const admin = createAdminServer({
    store,
    cache,
    tokens,
    directory,
    leakBudget: new LeakBudget(clock),
    outbox: events,
    settings: { maxTokenLifetimeMs: config.admin.maxTokenLifetime, expiringNoticeMs: config.events.expiringNotice },
    metrics,
    logger,
    clock,
    metricsAuth: config.admin.metricsAuth,
    isDraining: () => isDraining,
    limits,
  });

  // Queues open before the admin port answers: no change made here is missed by a new webhook.
  await events.start();
  const proxyPort = await listen(proxy.server, config.proxy.listen);
  const adminPort = await listen(admin, config.admin.listen);
  if (tls !== undefined) {
    certificates = new CertificateWatcher(config.proxy.tls.cert, config.proxy.tls.key, tls, proxy.server as TlsServer, logger);
    certificates.start();
    logger.info({ serial: tls.facts.serial, subject: tls.facts.subject, expiresAt: new Date(tls.facts.expiresAt * 1000).toISOString() }, 'TLS certificate served');
  }
  const decisionListen = config.decision.listen;
  const decisionPortNumber = decisionServer && decisionListen ? await listen(decisionServer.server, decisionListen) : undefined;
  logger.info({ proxyPort, adminPort, decisionPort: decisionPortNumber, upstream: config.proxy.upstream, store: store.backend }, 'tollgate listening');

  return {
    proxyPort,
    adminPort,
    decisionPort: decisionPortNumber,
    store,
    tokens,
    directory,
    outbox: events,
    flushLastUsed: () => lastUsed.flush(),
    limits,
    async shutdown(graceMs = config.proxy.shutdownGrace) {
      // docs/kubernetes.md: readiness fails at once, the proxy stops accepting, requests in flight (uploads
      // and downloads too) get until the grace period ends, idle keep-alive connections are
      // closed now and busy ones after their response. The admin port stays up meanwhile, so
      // /readyz says 503 and /metrics can still be scraped.
      isDraining = true;
      const drained = Promise.all([proxy.drain(), decisionServer?.drain()]);
      const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([drained, grace]);
      proxy.closeAllConnections();
      decisionServer?.closeAllConnections();
      const adminClosed = close(admin);
      admin.closeAllConnections();
      await adminClosed;
      await lastUsed.stop().catch(() => {});
      // What this replica leased and did not spend goes back for the others.
      clearInterval(limitsUpkeep);
      await limits.drain();
      await events.stop();
      upstream.close();
      live.close();
      grpc?.close();
      certificates?.stop();
      await store.close();
    },
  };
}

/**
 * The limiter's background work, once a second: stream slots idle since the last tick go back,
 * budgets long unused are forgotten, and the repositories' default limits are re-read (every
 * 5 s), so a request never waits on any of it.
 */
function keepLimits(limits: Limiter, store: TokenStore, logger: Logger): NodeJS.Timeout {
  let ticks = 0;
  const refreshDefaults = () =>
    store.listRepositories().then(
      (repositories) => limits.setRepositoryDefaults(repositories),
      (err: unknown) => logger.warn({ err }, 'limits: repository defaults not refreshed'),
    );
  void refreshDefaults();
  const timer = setInterval(() => {
    void limits.tick();
    if (++ticks % 5 === 0) void refreshDefaults();
  }, 1000);
  timer.unref();
  return timer;
}

/** Logs each store outage, recovery and reconnect once: the store itself reports transitions only. */
function watchStore(store: TokenStore, logger: Logger, clock: Clock): void {
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
}

function listen(server: NetServer, address: { host: string; port: number }): Promise<number> {
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
