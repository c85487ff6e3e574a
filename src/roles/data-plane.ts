import type { Server as TlsServer } from 'node:tls';
import { DecisionStep } from '../auth/decide.js';
import { LastUsedRecorder } from '../auth/last-used.js';
import { RouteTable } from '../auth/routes.js';
import type { TokenCache } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import type { ConfigPart } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import { DecisionServer } from '../decision/server.js';
import type { WorkloadIdentity } from '../identity/workload-identity.js';
import { Limiter } from '../limits/limiter.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { dataPlaneParts, trustedProxiesOf, type UpstreamSlot, upstreamOptions } from '../proxy/data-plane-reload.js';
import { GrpcUpstream } from '../proxy/grpc-upstream.js';
import { Http2Front } from '../proxy/http2-front.js';
import { LiveExchanges } from '../proxy/live-exchanges.js';
import { ProxyServer } from '../proxy/server.js';
import { CertificateWatcher, readCertificateAtStart } from '../proxy/tls-certificate.js';
import { UpstreamPool } from '../proxy/upstream-pool.js';
import type { BudgetStore, Directory, Invalidation, TokenRecords, UsageStore } from '../store/token-store.js';
import type { Tracing } from '../tracing/tracing.js';
import { UsageRecorder } from '../usage/usage-recorder.js';
import { listen } from './replica.js';

/**
 * The store roles the data plane uses, each by the one part that uses it: last uses (tokens,
 * LastUsedRecorder), usage history (UsageRecorder), budget counters (Limiter) and the
 * repositories' default limits (the directory, keepLimits). Token lookups go through the cache,
 * which the replica builds and hands in.
 */
export type DataPlaneStore = Pick<TokenRecords, 'touchLastUsed'> & UsageStore & BudgetStore & Pick<Directory, 'listRepositories'>;

export interface DataPlaneParts {
  config: Config;
  store: DataPlaneStore;
  cache: TokenCache;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** JWT and client-certificate identities (docs/workload-identity.md), when configured. */
  workload?: WorkloadIdentity;
  /** Spans for each exchange on every port (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
}

/**
 * The data plane (the `proxy` role, and half of `all`): the proxy port, the decision port when
 * set, the limits and the open exchanges. Built here, listening only once `listen` is called.
 */
export class DataPlane {
  /** Per-token limits on this replica (docs/limits.md). */
  readonly limits: Limiter;
  private readonly live: LiveExchanges;
  private readonly lastUsed: LastUsedRecorder;
  /** Usage history (docs/usage.md): counted here, added to the store every usage.flushInterval. */
  private readonly usage: UsageRecorder;
  /** The pool new requests go to; a reload that moves the upstream puts a new one here. */
  private readonly upstream: UpstreamSlot;
  private readonly decisions: DecisionStep;
  private readonly http2: Http2Front;
  private readonly grpc: GrpcUpstream | undefined;
  private readonly proxy: ProxyServer;
  private readonly decisionServer: DecisionServer | undefined;
  private readonly tls: ReturnType<typeof readCertificateAtStart> | undefined;
  private certificates: CertificateWatcher | undefined;
  private limitsUpkeep: NodeJS.Timeout | undefined;

  constructor(private readonly parts: DataPlaneParts) {
    const { config, store, cache, metrics, logger, clock } = parts;
    // A certificate that cannot serve stops the start (exit 2, naming proxy.tls.cert or .key).
    this.tls = config.proxy.tls.cert === '' ? undefined : readCertificateAtStart(config.proxy.tls.cert, config.proxy.tls.key);
    // Exchanges in flight by token: an invalidation reaches them after the cache has dropped the
    // token, so the re-read they trigger sees the change.
    const live = new LiveExchanges({ cache, clock, metrics, endOnRevoke: config.proxy.endOnRevoke, recheckMs: config.cache.ttl });
    this.live = live;
    this.lastUsed = new LastUsedRecorder(store, clock, config.cache.lastUsedInterval, (err) => {
      metrics.storeError('touchLastUsed');
      logger.warn({ err: (err as Error).message }, 'lastUsedAt write failed; will retry');
    });
    store.keepUsageFor?.(config.usage.retention);
    this.usage = new UsageRecorder(store, clock, config.usage.flushInterval, (err) => {
      metrics.storeError('addUsage');
      logger.warn({ err: (err as Error).message }, 'usage history write failed; will retry');
    });
    const usage = this.usage;
    this.upstream = { pool: new UpstreamPool(upstreamOptions(config)) };
    // One decision step, shared by every port that judges requests.
    this.limits = new Limiter({ store, clock, logger, observer: metrics });
    // The first X-Forwarded-For hop names the client only when the peer is a trusted proxy (allowFrom).
    const decisions = new DecisionStep({
      cache,
      routes: new RouteTable(config.routes),
      lastUsed: this.lastUsed,
      usage,
      clock,
      limits: this.limits,
      workload: parts.workload?.authenticators,
      trustedProxies: trustedProxiesOf(config),
    });
    this.decisions = decisions;
    this.grpc = config.proxy.grpcUpstream === '' ? undefined : new GrpcUpstream(config.proxy.grpcUpstream, config.proxy.timeouts.connect);
    const http2 = new Http2Front({
      upstream: this.upstream.pool,
      grpc: this.grpc,
      decisions,
      metrics,
      logger,
      clock,
      // Open HTTP/2 streams and gRPC calls are ended on revocation like HTTP/1.1 exchanges.
      live,
      forwardAuthorization: config.proxy.forwardAuthorization,
      accessLog: config.proxy.accessLog,
      // The same slowloris bound as the HTTP/1.1 head's, from HEADERS to END_HEADERS.
      headersTimeoutMs: Math.min(config.proxy.timeouts.headers, 60_000),
      tracing: parts.tracing,
      usage,
    });
    const front = {
      metrics,
      logger,
      clock,
      forwardAuthorization: config.proxy.forwardAuthorization,
      accessLog: config.proxy.accessLog,
      headersTimeoutMs: Math.min(config.proxy.timeouts.headers, 60_000),
      idleTimeoutMs: config.proxy.timeouts.idle,
      maxConnections: config.proxy.maxConnections,
      tracing: parts.tracing,
    };
    this.http2 = http2;
    const tls = this.tls === undefined ? undefined : { ...this.tls.options, ...parts.workload?.clientTls };
    this.proxy = new ProxyServer({ ...front, tls, http2, upstream: this.upstream.pool, decisions, live, usage });
    // The decision port judges with the same step instance: one cache, one route table, one lastUsed.
    this.decisionServer = config.decision.listen ? new DecisionServer({ ...front, decisions, pathPrefix: config.decision.pathPrefix }) : undefined;
  }

  /** What a configuration reload swaps in the data plane, part by part (docs/configuration.md, "Reloading"). */
  configParts(): ConfigPart[] {
    const { logger, clock } = this.parts;
    return dataPlaneParts({
      logger,
      clock,
      lastUsed: this.lastUsed,
      usage: this.usage,
      live: this.live,
      decisions: this.decisions,
      upstream: this.upstream,
      grpc: this.grpc,
      proxy: this.proxy,
      http2: this.http2,
      decisionServer: this.decisionServer,
    });
  }

  /** Adds the usage counted so far to the store now (it is otherwise added every usage.flushInterval). */
  flushUsage(): Promise<void> {
    return this.usage.flush();
  }

  /** notAfter (epoch seconds) of the certificate the proxy port serves now; undefined without TLS. */
  certificateExpiry(): number | undefined {
    return this.certificates?.served.expiresAt ?? this.tls?.facts.expiresAt;
  }

  /** Open exchanges are judged again after an invalidation (the cache has dropped the token by then). */
  onInvalidation(message: Invalidation): void {
    this.live.onInvalidation(message);
  }

  onReset(): void {
    this.live.onReset();
  }

  /** Writes pending last uses now (they are otherwise written every cache.lastUsedInterval). */
  flushLastUsed(): Promise<void> {
    return this.lastUsed.flush();
  }

  /** Starts the background work and opens the proxy port, then the decision port when set. */
  async listen(): Promise<{ proxyPort: number; decisionPort: number | undefined }> {
    const { config, logger } = this.parts;
    this.lastUsed.start();
    this.usage.start();
    this.limitsUpkeep = keepLimits(this.limits, this.parts.store, logger);
    const proxyPort = await listen(this.proxy.server, config.proxy.listen);
    if (this.tls !== undefined) {
      const clientTls = this.parts.workload?.clientTls;
      const clientCa = clientTls === undefined ? undefined : { path: config.identity.mtls.clientCa, pem: clientTls.ca as Buffer };
      this.certificates = new CertificateWatcher(config.proxy.tls.cert, config.proxy.tls.key, this.tls, this.proxy.server as TlsServer, logger, clientCa);
      this.certificates.start();
      logger.info(
        { serial: this.tls.facts.serial, subject: this.tls.facts.subject, expiresAt: new Date(this.tls.facts.expiresAt * 1000).toISOString() },
        'TLS certificate served',
      );
    }
    const decisionListen = config.decision.listen;
    const decisionPort = this.decisionServer && decisionListen ? await listen(this.decisionServer.server, decisionListen) : undefined;
    return { proxyPort, decisionPort };
  }

  /** Stops accepting; resolves when the requests in flight (uploads and downloads too) are done. */
  async drain(): Promise<void> {
    await Promise.all([this.proxy.drain(), this.decisionServer?.drain()]);
  }

  /** Ends what is still open after the grace period. */
  closeAllConnections(): void {
    this.proxy.closeAllConnections();
    this.decisionServer?.closeAllConnections();
  }

  /** Writes what is pending and gives back what this replica leased and did not spend. */
  async stop(): Promise<void> {
    await this.lastUsed.stop().catch(() => {});
    await this.usage.stop();
    clearInterval(this.limitsUpkeep);
    await this.limits.drain();
    this.upstream.pool.close();
    this.live.close();
    this.grpc?.close();
    this.certificates?.stop();
  }
}

/**
 * The limiter's background work, once a second: stream slots idle since the last tick go back,
 * budgets long unused are forgotten, and the repositories' default limits are re-read (every
 * 5 s), so a request never waits on any of it.
 */
function keepLimits(limits: Limiter, store: Pick<Directory, 'listRepositories'>, logger: Logger): NodeJS.Timeout {
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
