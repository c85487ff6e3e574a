import type { DirectoryService } from './admin/directory-service.js';
import type { TokenService } from './admin/token-service.js';
import type { CacheStore } from './auth/token-cache.js';
import type { Clock } from './clock.js';
import { ConfigReloader } from './config/reload.js';
import type { Config, Role } from './config/schema.js';
import type { Outbox } from './events/outbox.js';
import { emptySlot, jwtIssuersPart, principalSlot, startWorkloadIdentity } from './identity/workload-identity.js';
import type { Limiter } from './limits/limiter.js';
import { readBuildInfo } from './log/build-info.js';
import type { Logger } from './log/logger.js';
import { Metrics } from './metrics/metrics.js';
import type { ControlPlane } from './roles/control-plane.js';
import type { DataPlane, DataPlaneStore } from './roles/data-plane.js';
import { CONTROL_PLANE_KEYS, closeNow, createTokenCache, DATA_PLANE_KEYS, followStore, graceOf, listen, replicaParts } from './roles/replica.js';
import type { Invalidations, StoreHealth, TokenRecords, TokenStore } from './store/token-store.js';
import { startTracing } from './tracing/start-tracing.js';
import { TracingSlot, telemetryPart } from './tracing/tracing-slot.js';

/** A running process of any role: its ports and its shutdown. */
export interface Replica {
  role: Role;
  /** The proxy port; undefined in the control role. */
  proxyPort: number | undefined;
  /** `admin.listen`: the admin API, or in the proxy role its probes and metrics alone. */
  adminPort: number;
  /** The decision port, when `decision.listen` is set (never in the control role). */
  decisionPort: number | undefined;
  /** Takes a new configuration in without closing a connection (docs/configuration.md, "Reloading"). */
  reloader: ConfigReloader;
  /** Stops taking requests, lets those in flight finish within the grace period, closes the store. */
  shutdown(graceMs?: number): Promise<void>;
}

/** The `all` role: every part in one process, as tests and the CLI's `demo` drive it. */
export interface Tollgate extends Replica {
  proxyPort: number;
  store: TokenStore;
  tokens: TokenService;
  directory: DirectoryService;
  /** Webhooks out (docs/webhooks.md). */
  outbox: Outbox;
  /** Writes pending last uses now (they are otherwise written every cache.lastUsedInterval). */
  flushLastUsed(): Promise<void>;
  /** Adds the usage counted so far to the store now (it is otherwise added every usage.flushInterval). */
  flushUsage(): Promise<void>;
  /** Per-token limits on this replica (docs/limits.md). */
  limits: Limiter;
}

/**
 * Starts what `config.role` runs (docs/kubernetes.md, "Roles"). Each role's wiring is imported
 * here and nowhere else, so a proxy replica never loads the admin API, the page, the webhook
 * sender or the sweeper, and a control replica never loads the proxy.
 */
export async function startReplica(config: Config, store: TokenStore, logger: Logger, clock: Clock, fetcher: typeof fetch = fetch): Promise<Replica> {
  if (config.role === 'proxy') return startProxyRole(config, store, logger, clock, fetcher);
  if (config.role === 'control') return startControlRole(config, store, logger, clock, fetcher);
  return startTollgate(config, store, logger, clock, fetcher);
}

/**
 * The store roles a proxy replica uses: lookups on a cache miss (the cache), what the data plane
 * writes and reads, invalidations heard, and health (probes, metrics, outage log, close). None of
 * the admin API's: no token writes, events, leases or usage reads.
 */
type ProxyRoleStore = CacheStore & DataPlaneStore & Pick<Invalidations, 'subscribe'> & StoreHealth;

/** The sidecar: the data plane, and on `admin.listen` its probes and metrics alone. */
async function startProxyRole(config: Config, store: ProxyRoleStore, logger: Logger, clock: Clock, fetcher: typeof fetch): Promise<Replica> {
  const [{ DataPlane }, { createProbeServer }] = await Promise.all([import('./roles/data-plane.js'), import('./probes/probe-server.js')]);
  let isDraining = false;
  let proxy: DataPlane | undefined;
  const metrics = new Metrics({ ...storeHealth(store, () => cache.size), certificateExpiry: () => proxy?.certificateExpiry() }, readBuildInfo());
  // Always a slot here, so a reload can add JWT issuers to a replica started with none.
  const principals = principalSlot(config) ?? emptySlot();
  const cache = createTokenCache(config, store, clock, metrics, principals);
  // JWT and client-certificate identities (docs/workload-identity.md): nothing is built or loaded when none are configured.
  const workload = await startWorkloadIdentity(config, principals, cache, clock, fetcher, logger);
  // Traces (docs/tracing.md): the OpenTelemetry SDK is imported only when an endpoint is set.
  const tracing = new TracingSlot(await startTracing(config.telemetry, logger));
  const parts = { config, store, cache, metrics, logger, clock };
  proxy = new DataPlane({ ...parts, workload, tracing });
  const dataPlane = proxy;
  followStore(store, cache, dataPlane, logger, clock);
  const probeOptions = {
    ...parts,
    metricsAuth: config.admin.metricsAuth,
    isDraining: () => isDraining,
    timeouts: { headersMs: config.admin.timeouts.headers, requestMs: config.admin.timeouts.request },
  };
  const probes = createProbeServer(probeOptions);

  const { proxyPort, decisionPort } = await dataPlane.listen();
  const adminPort = await listen(probes, config.admin.listen);
  const reloader = new ConfigReloader({
    config,
    // The control plane's keys change nothing here but whether /metrics asks for a token.
    parts: [
      ...replicaParts(logger, cache),
      ...dataPlane.configParts(),
      jwtIssuersPart(principals, workload.authenticators, cache, clock, fetcher, logger),
      telemetryPart(tracing, logger),
      {
        keys: CONTROL_PLANE_KEYS,
        apply: (next) => {
          probeOptions.metricsAuth = next.admin.metricsAuth;
        },
      },
    ],
    logger,
    observer: metrics,
  });
  logger.info({ role: config.role, proxyPort, adminPort, decisionPort, upstream: config.proxy.upstream, store: store.backend }, 'tollgate listening');
  return {
    role: 'proxy',
    proxyPort,
    adminPort,
    decisionPort,
    reloader,
    async shutdown(graceMs = reloader.config.proxy.shutdownGrace) {
      isDraining = true;
      await Promise.race([dataPlane.drain(), graceOf(graceMs)]);
      dataPlane.closeAllConnections();
      await closeNow(probes);
      await dataPlane.stop();
      await tracing.shutdown();
      await store.close();
    },
  };
}

/** The control plane alone: the admin API, page, webhooks and sweeper; no proxy or decision port. */
async function startControlRole(config: Config, store: TokenStore, logger: Logger, clock: Clock, fetcher: typeof fetch): Promise<Replica> {
  const { ControlPlane } = await import('./roles/control-plane.js');
  let isDraining = false;
  let control: ControlPlane | undefined;
  const metrics = new Metrics({ ...storeHealth(store, () => cache.size), ...storeFigures(config, store, clock, () => control?.outbox) }, readBuildInfo());
  const cache = createTokenCache(config, store, clock, metrics);
  const parts = { config, store, cache, metrics, logger, clock };
  followStore(store, cache, undefined, logger, clock);
  const tracing = new TracingSlot(await startTracing(config.telemetry, logger));
  control = new ControlPlane({ ...parts, fetcher, eviction: cache, isDraining: () => isDraining, tracing });
  const controlPlane = control;

  await controlPlane.start();
  const adminPort = await listen(controlPlane.admin, config.admin.listen);
  // No data plane here: its keys change nothing that runs (no warning), the rest as in any role.
  const reloader = new ConfigReloader({
    config,
    parts: [
      ...replicaParts(logger, cache),
      ...controlPlane.configParts(),
      telemetryPart(tracing, logger),
      { keys: [...DATA_PLANE_KEYS, 'identity'], apply() {} },
    ],
    logger,
    observer: metrics,
  });
  logger.info({ role: config.role, adminPort, store: store.backend }, 'tollgate listening');
  return {
    role: 'control',
    proxyPort: undefined,
    adminPort,
    decisionPort: undefined,
    reloader,
    async shutdown() {
      isDraining = true;
      await closeNow(controlPlane.admin);
      await controlPlane.stop();
      await tracing.shutdown();
      await store.close();
    },
  };
}

/** Builds every part from the config and starts every listener (the `all` role): the wiring, nothing else. */
export async function startTollgate(config: Config, store: TokenStore, logger: Logger, clock: Clock, fetcher: typeof fetch = fetch): Promise<Tollgate> {
  const [{ DataPlane }, { ControlPlane }] = await Promise.all([import('./roles/data-plane.js'), import('./roles/control-plane.js')]);
  let isDraining = false;
  let data: DataPlane | undefined;
  let control: ControlPlane | undefined;
  const metrics = new Metrics(
    {
      ...storeHealth(store, () => cache.size),
      ...storeFigures(config, store, clock, () => control?.outbox),
      certificateExpiry: () => data?.certificateExpiry(),
    },
    readBuildInfo(),
  );
  // Always a slot here, so a reload can add JWT issuers to a replica started with none.
  const principals = principalSlot(config) ?? emptySlot();
  const cache = createTokenCache(config, store, clock, metrics, principals);
  const workload = await startWorkloadIdentity(config, principals, cache, clock, fetcher, logger);
  const tracing = new TracingSlot(await startTracing(config.telemetry, logger));
  const parts = { config, store, cache, metrics, logger, clock };
  data = new DataPlane({ ...parts, workload, tracing });
  const proxy = data;
  followStore(store, cache, proxy, logger, clock);
  control = new ControlPlane({
    ...parts,
    fetcher,
    // A change made here reaches this process's open exchanges at once, after its cache.
    eviction: {
      apply(message) {
        cache.apply(message);
        proxy.onInvalidation(message);
      },
    },
    limits: proxy.limits,
    isDraining: () => isDraining,
    tracing,
  });
  const admin = control.admin;
  const controlPlane = control;

  await controlPlane.start();
  const { proxyPort, decisionPort } = await proxy.listen();
  const adminPort = await listen(admin, config.admin.listen);
  // What a reload may change, part by part; a key no part names keeps its running value until a restart.
  const reloader = new ConfigReloader({
    config,
    parts: [
      ...replicaParts(logger, cache),
      ...proxy.configParts(),
      jwtIssuersPart(principals, workload.authenticators, cache, clock, fetcher, logger),
      ...controlPlane.configParts(),
      telemetryPart(tracing, logger),
    ],
    logger,
    observer: metrics,
  });
  logger.info({ role: config.role, proxyPort, adminPort, decisionPort, upstream: config.proxy.upstream, store: store.backend }, 'tollgate listening');

  return {
    role: 'all',
    proxyPort,
    adminPort,
    decisionPort,
    store,
    tokens: controlPlane.tokens,
    directory: controlPlane.directory,
    outbox: controlPlane.outbox,
    flushLastUsed: () => proxy.flushLastUsed(),
    flushUsage: () => proxy.flushUsage(),
    limits: proxy.limits,
    reloader,
    async shutdown(graceMs = reloader.config.proxy.shutdownGrace) {
      // On SIGTERM (docs/kubernetes.md): readiness fails at once, the proxy stops
      // accepting, requests in flight (uploads and downloads too) get until the grace period
      // ends, idle keep-alive connections are closed now and busy ones after their response. The
      // admin port stays up meanwhile, so /readyz says 503 and /metrics can still be scraped.
      isDraining = true;
      await Promise.race([proxy.drain(), graceOf(graceMs)]);
      proxy.closeAllConnections();
      await closeNow(admin);
      await proxy.stop();
      await controlPlane.stop();
      // Spans still queued go to the collector before the process ends.
      await tracing.shutdown();
      await store.close();
    },
  };
}

/** What every role's metrics read at each scrape: the cache's size and whether the store answers. */
function storeHealth(store: Pick<StoreHealth, 'ping'>, cacheEntries: () => number) {
  return {
    cacheEntries,
    isStoreUp: () =>
      store.ping().then(
        () => true,
        () => false,
      ),
  };
}

/** The gauges of the whole store, which the control plane reports (one count, not one per sidecar). */
function storeFigures(config: Config, store: Pick<TokenRecords, 'countTokens' | 'countExpiring'>, clock: Clock, outbox: () => Outbox | undefined) {
  return {
    tokenCounts: () => store.countTokens(clock.now()),
    expiringSoon: () => store.countExpiring(clock.now(), clock.now() + config.events.expiringNotice),
    webhookBacklog: () => outbox()?.backlog() ?? Promise.resolve(0),
  };
}
