import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Outcome } from '../auth/decision.js';
import type { CacheObserver } from '../auth/token-cache.js';
import type { CredentialLabel, RightLabel } from '../auth/verdict.js';
import { RELOAD_OUTCOMES, type ReloadOutcome } from '../config/reload.js';
import { END_REASONS, type EndReason, LIVE_PROTOCOLS, type LiveProtocol } from '../exchange/endings.js';
import type { ExchangeCounts } from '../exchange/ledgers.js';
import { LIMIT_NAMES, type LimitName } from '../limits/limits.js';
import type { BuildInfo } from '../log/build-info.js';
import { RIGHTS } from '../tokens/record.js';
import { FastHistogram, type HistogramSeries } from './fast-histogram.js';
import { ReadingGauge } from './reading-gauge.js';

const RIGHT_LABELS: readonly RightLabel[] = [...RIGHTS, 'none'];
const OUTCOMES: readonly Outcome[] = ['allowed', 'unauthenticated', 'forbidden', 'not_found', 'unavailable', 'upstream_error'];

type Child<T> = { [K in RightLabel]: T };

const CREDENTIAL_LABELS: readonly CredentialLabel[] = ['token', 'jwt', 'mtls', 'none'];

/** A count the hot path bumps as a plain number; its prom-client counter takes it in at each scrape. */
interface Tally {
  count: number;
}

function tallyCounter(registers: Registry[], name: string, help: string): Tally {
  const tally = { count: 0 };
  new Counter({
    name,
    help,
    registers,
    collect() {
      if (tally.count > 0) this.inc(tally.count);
      tally.count = 0;
    },
  });
  return tally;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/**
 * WebSockets and gRPC calls last as long as their stream: seconds to a working day. A unary gRPC
 * call still lands in the lower buckets; what an operator reads here is how long streams stay open
 * and whether they are cut early (a spike at the bottom after a deploy or a revocation).
 */
const LIVE_BUCKETS = [0.1, 1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800];
/**
 * Admin calls are few and a human or a pipeline waits on them: "fast", "slow" and "stuck" are what
 * an operator reads, not per-route sub-millisecond detail (per-route counts stay in
 * tollgate_admin_requests_total).
 */
const ADMIN_BUCKETS = [0.005, 0.025, 0.1, 0.5, 2.5, 10];
/** `operation` label of the admin histogram: reads (GET, HEAD) and everything else. */
const ADMIN_OPERATIONS = ['read', 'write'] as const;

/** Microseconds for a cached token, milliseconds for a store read, up to a second for a stuck one. */
const DECISION_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.25, 1];

/** Store operations whose errors the data plane reports; their series are exported from the start. */
const STORE_OPS = ['getToken', 'touchLastUsed', 'authenticate'] as const;
const UPSTREAM_ERROR_REASONS = ['refused', 'reset', 'timeout', 'other'] as const;
export type UpstreamErrorReason = (typeof UPSTREAM_ERROR_REASONS)[number];

/** What tollgate_build_info says. */
export interface MetricsSources {
  cacheEntries(): number;
  /** Whether the store answers now; asked at each scrape. */
  isStoreUp(): Promise<boolean>;
  /**
   * Counts of tokens by kind and status; read at most once per scrape. This and the two below are
   * figures of the whole store: the control plane reports them, a proxy replica (absent) does not,
   * so a fleet of sidecars does not count the store at every scrape.
   */
  tokenCounts?(): Promise<Array<{ kind: string; status: string; count: number }>>;
  /** Active tokens by kind expiring within `events.expiringNotice`. */
  expiringSoon?(): Promise<Record<'repository' | 'personal', number>>;
  /** Events not yet delivered over every webhook. */
  webhookBacklog?(): Promise<number>;
  /** notAfter (epoch seconds) of the certificate the proxy port serves now; absent without TLS. */
  certificateExpiry?(): number | undefined;
}

const DELIVERY_OUTCOMES = ['delivered', 'retried', 'failed'] as const;

/**
 * Every instrument of docs/reference/metrics.md on a private registry. What the data plane updates per request is
 * kept as plain numbers and fixed histogram series (no label sets built, hashed or validated per
 * call, which prom-client does even through bound children); counters take those numbers in at
 * scrape time.
 */
export class Metrics implements CacheObserver, ExchangeCounts {
  readonly registry = new Registry();
  private readonly requests: Record<CredentialLabel, Child<Record<Outcome, number>>>;
  private readonly durations: Child<HistogramSeries>;
  /** Durations of forwarded WebSockets and gRPC calls (not in `durations`, whose top bucket is 10 s). */
  private readonly liveDurations: Record<Exclude<LiveProtocol, 'http'>, HistogramSeries>;
  private readonly authCache: HistogramSeries;
  private readonly authStore: HistogramSeries;
  private readonly authNegative: HistogramSeries;
  private readonly upstreamDuration: HistogramSeries;
  private readonly addedLatency: HistogramSeries;
  private readonly hits: Tally;
  private readonly misses: Tally;
  private readonly bytesIn: Tally;
  private readonly bytesOut: Tally;
  private readonly inflight: Tally = { count: 0 };
  /** Exchanges open now by protocol, kept by the live-exchange registry. */
  readonly live: Record<LiveProtocol, number> = { http: 0, websocket: 0, grpc: 0 };
  private readonly exchangesEnded: Counter<'reason'>;
  private readonly invalidations: Counter;
  private readonly invalidationLag: Histogram;
  private readonly cacheResets: Counter;
  private readonly storeErrors: Counter<'op'>;
  private readonly upstreamErrors: Counter<'reason'>;
  private readonly adminRequests: Counter<'route' | 'status'>;
  private readonly webhookDeliveries: Counter<'outcome'>;
  private readonly limitedTotal: Counter<'limit'>;
  private readonly configReloads: Counter<'outcome'>;
  private readonly configGeneration: Gauge;
  private readonly adminDuration: Record<(typeof ADMIN_OPERATIONS)[number], HistogramSeries>;
  /** Decision-port answers by outcome, as plain numbers taken in at each scrape. */
  private readonly decisions = Object.assign(Object.create(null) as Record<string, number>, {
    allowed: 0,
    unauthenticated: 0,
    forbidden: 0,
    not_found: 0,
    unavailable: 0,
  });

  constructor(sources: MetricsSources, build: BuildInfo = { version: 'unknown', node: process.version }) {
    const registers = [this.registry];
    const requests = {} as Record<CredentialLabel, Child<Record<Outcome, number>>>;
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'tollgate_build_info',
      help: 'Always 1; the labels say which build runs on which Node.',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: build.version, node: build.node }, 1);
    new Counter({
      name: 'tollgate_requests_total',
      help: 'Data-plane requests by the right they needed, how they ended and the kind of credential they carried.',
      labelNames: ['right', 'outcome', 'credential'],
      registers,
      collect() {
        for (const credential of CREDENTIAL_LABELS) {
          for (const right of RIGHT_LABELS) {
            for (const outcome of OUTCOMES) {
              const count = requests[credential][right][outcome];
              if (count > 0) this.inc({ right, outcome, credential }, count);
              requests[credential][right][outcome] = 0;
            }
          }
        }
      },
    });
    const duration = new FastHistogram({
      name: 'tollgate_request_duration_seconds',
      help: 'Time from request start to response end on the data plane, for request-response exchanges and every refusal; forwarded WebSockets and gRPC calls are in tollgate_live_exchange_duration_seconds.',
      labelNames: ['right'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.durations = {} as Child<HistogramSeries>;
    for (const credential of CREDENTIAL_LABELS) {
      requests[credential] = {} as Child<Record<Outcome, number>>;
      for (const right of RIGHT_LABELS) {
        const byOutcome = {} as Record<Outcome, number>;
        for (const outcome of OUTCOMES) byOutcome[outcome] = 0;
        requests[credential][right] = byOutcome;
      }
    }
    for (const right of RIGHT_LABELS) this.durations[right] = duration.series({ right });
    const liveDuration = new FastHistogram({
      name: 'tollgate_live_exchange_duration_seconds',
      help: 'How long forwarded WebSockets and gRPC calls stayed open, from request start to the end of the stream, by protocol.',
      labelNames: ['protocol'],
      buckets: LIVE_BUCKETS,
      registers,
    });
    this.liveDurations = { websocket: liveDuration.series({ protocol: 'websocket' }), grpc: liveDuration.series({ protocol: 'grpc' }) };
    this.requests = requests;
    const auth = new FastHistogram({
      name: 'tollgate_auth_duration_seconds',
      help: 'Time to resolve a token, by where the answer came from.',
      labelNames: ['source'],
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.authCache = auth.series({ source: 'cache' });
    this.authStore = auth.series({ source: 'store' });
    this.authNegative = auth.series({ source: 'negative' });
    this.hits = tallyCounter(registers, 'tollgate_cache_hits_total', 'Token lookups answered by the cache.');
    this.misses = tallyCounter(registers, 'tollgate_cache_misses_total', 'Token lookups that went to the store.');
    new Gauge({
      name: 'tollgate_cache_entries',
      help: 'Tokens held in the positive cache.',
      registers,
      collect() {
        this.set(sources.cacheEntries());
      },
    });
    this.invalidations = new Counter({
      name: 'tollgate_invalidations_total',
      help: 'Invalidation messages received from the store channel.',
      registers,
    });
    this.invalidationLag = new Histogram({
      name: 'tollgate_invalidation_lag_seconds',
      help: 'Time from publishing an invalidation to this replica applying it.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    this.cacheResets = new Counter({
      name: 'tollgate_cache_resets_total',
      help: 'Whole-cache clears because invalidations may have been missed (subscriber reconnect).',
      registers,
    });
    this.storeErrors = new Counter({
      name: 'tollgate_store_errors_total',
      help: 'Store operations that failed, by operation.',
      labelNames: ['op'],
      registers,
    });
    // A series that only appears with the first error makes rate() alerts blind until then.
    for (const op of STORE_OPS) this.storeErrors.inc({ op }, 0);
    new Gauge({
      name: 'tollgate_store_up',
      help: '1 when the token store answers (checked at each scrape).',
      registers,
      async collect() {
        this.set((await sources.isStoreUp()) ? 1 : 0);
      },
    });
    this.upstreamErrors = new Counter({
      name: 'tollgate_upstream_errors_total',
      help: 'Forwarded requests that failed at the upstream, by reason.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of UPSTREAM_ERROR_REASONS) this.upstreamErrors.inc({ reason }, 0);
    this.adminRequests = new Counter({
      name: 'tollgate_admin_requests_total',
      help: 'Admin API requests by route pattern (never a value) and status.',
      labelNames: ['route', 'status'],
      registers,
    });
    const adminDuration = new FastHistogram({
      name: 'tollgate_admin_request_duration_seconds',
      help: 'Time from admin request start to response end, by operation: read (GET, HEAD) or write.',
      labelNames: ['operation'],
      buckets: ADMIN_BUCKETS,
      registers,
    });
    this.adminDuration = { read: adminDuration.series({ operation: 'read' }), write: adminDuration.series({ operation: 'write' }) };
    this.addedLatency = new FastHistogram({
      name: 'tollgate_added_latency_seconds',
      help: 'Time from reading a data-plane request head to forwarding it: the checks Tollgate adds before the upstream sees the request (target, route, credential, rights, limits).',
      buckets: DECISION_BUCKETS,
      registers,
    }).series();
    this.upstreamDuration = new FastHistogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time from forwarding a request to the upstream response headers.',
      buckets: LATENCY_BUCKETS,
      registers,
    }).series();
    this.bytesIn = tallyCounter(registers, 'tollgate_request_bytes_total', 'Request body bytes forwarded.');
    this.bytesOut = tallyCounter(registers, 'tollgate_response_bytes_total', 'Response body bytes returned.');
    const inflight = this.inflight;
    new Gauge({
      name: 'tollgate_inflight_requests',
      help: 'Data-plane requests in progress.',
      registers,
      collect() {
        this.set(inflight.count);
      },
    });
    const live = this.live;
    new Gauge({
      name: 'tollgate_live_exchanges',
      help: 'Exchanges open now (requests in flight, WebSockets, gRPC calls), by protocol.',
      labelNames: ['protocol'],
      registers,
      collect() {
        for (const protocol of LIVE_PROTOCOLS) this.set({ protocol }, live[protocol]);
      },
    });
    this.exchangesEnded = new Counter({
      name: 'tollgate_exchanges_ended_total',
      help: 'Open exchanges Tollgate ended because their token (or a reloaded route table) stopped allowing them, by reason.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of END_REASONS) this.exchangesEnded.inc({ reason }, 0);
    const { tokenCounts, expiringSoon, webhookBacklog } = sources;
    if (tokenCounts)
      new Gauge({
        name: 'tollgate_tokens',
        help: 'Tokens in the store by kind and status.',
        labelNames: ['kind', 'status'],
        registers,
        async collect() {
          this.reset();
          try {
            for (const { kind, status, count } of await tokenCounts()) this.set({ kind, status }, count);
          } catch {
            // store down: the series drop out and tollgate_store_up says why
          }
        },
      });
    this.webhookDeliveries = new Counter({
      name: 'tollgate_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), retried (failed, tried again later), failed (given up after 24 h).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of DELIVERY_OUTCOMES) this.webhookDeliveries.inc({ outcome }, 0);
    if (webhookBacklog)
      new Gauge({
        name: 'tollgate_webhook_backlog',
        help: 'Events not yet delivered (or given up on), summed over every webhook.',
        registers,
        async collect() {
          try {
            this.set(await webhookBacklog());
          } catch {
            // store down: keep the last value; tollgate_store_up says why
          }
        },
      });
    new ReadingGauge(
      {
        name: 'tollgate_tls_certificate_expiry_timestamp_seconds',
        help: 'When the certificate the proxy port serves to new connections expires (absent without TLS).',
        registers,
      },
      () => sources.certificateExpiry?.(),
    );
    if (expiringSoon)
      new Gauge({
        name: 'tollgate_tokens_expiring_soon',
        help: 'Active tokens whose expiry falls within events.expiringNotice, by kind.',
        labelNames: ['kind'],
        registers,
        async collect() {
          this.reset();
          try {
            for (const [kind, count] of Object.entries(await expiringSoon())) this.set({ kind }, count);
          } catch {
            // store down: as above
          }
        },
      });
    this.limitedTotal = new Counter({
      name: 'tollgate_limited_total',
      help: "Requests refused by a token's limits, by limit (rate, quota, streams).",
      labelNames: ['limit'],
      registers,
    });
    for (const limit of LIMIT_NAMES) this.limitedTotal.inc({ limit }, 0);
    this.configReloads = new Counter({
      name: 'tollgate_config_reloads_total',
      help: 'Configuration reloads (SIGHUP or the file changed), by outcome: applied, unchanged, invalid.',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of RELOAD_OUTCOMES) this.configReloads.inc({ outcome }, 0);
    this.configGeneration = new Gauge({
      name: 'tollgate_config_generation',
      help: 'The configuration in force: 1 at start, one more for each reload that changed something.',
      registers,
    });
    this.configGeneration.set(1);
    const decisions = this.decisions;
    new Counter({
      name: 'tollgate_decision_requests_total',
      help: 'Questions answered on the decision port, by outcome (as tollgate_requests_total).',
      labelNames: ['outcome'],
      registers,
      collect() {
        // Every outcome from the first scrape on, so a rate() alert is not blind until the first refusal.
        for (const outcome in decisions) {
          this.inc({ outcome }, decisions[outcome]!);
          decisions[outcome] = 0;
        }
      },
    });
  }

  /** LimitObserver: a request was refused by a token's limit. */
  limited(limit: LimitName): void {
    this.limitedTotal.inc({ limit });
  }

  /** The decision port answered a question (docs/decision-api/README.md). */
  decisionAnswered(outcome: Outcome): void {
    this.decisions[outcome] = (this.decisions[outcome] ?? 0) + 1;
  }

  /** A data-plane request began. */
  requestStarted(): void {
    this.inflight.count++;
  }

  /**
   * A data-plane request ended with an answer. `protocol`: what a forwarded exchange was (its
   * `live_exchanges` label); a WebSocket's or gRPC call's duration is the life of its stream and
   * goes to the live-exchange histogram, every other one (and every refusal) to the request one.
   */
  request(right: RightLabel, outcome: Outcome, seconds: number, credential: CredentialLabel = 'none', protocol: LiveProtocol = 'http'): void {
    this.inflight.count--;
    this.requests[credential][right][outcome]++;
    if (protocol === 'http') this.durations[right].observe(seconds);
    else this.liveDurations[protocol].observe(seconds);
  }

  /** A data-plane request was allowed and is forwarded now; `started`: when its head was read (performance.now()). */
  decided(started: number): void {
    this.addedLatency.observe((performance.now() - started) / 1000);
  }

  /** A data-plane request ended without an answer (the client left before it was forwarded). */
  requestAbandoned(): void {
    this.inflight.count--;
  }

  /** A forwarded exchange's upstream time to headers and the body bytes it moved. */
  forwarded(upstreamSeconds: number, requestBytes: number, responseBytes: number): void {
    this.upstreamDuration.observe(upstreamSeconds);
    this.bytesIn.count += requestBytes;
    this.bytesOut.count += responseBytes;
  }

  /** ReloadObserver: a reload ended; `generation` is the configuration now in force. */
  configReloaded(outcome: ReloadOutcome, generation: number): void {
    this.configReloads.inc({ outcome });
    this.configGeneration.set(generation);
  }

  exchangeEnded(reason: EndReason): void {
    this.exchangesEnded.inc({ reason });
  }

  upstreamError(reason: UpstreamErrorReason): void {
    this.upstreamErrors.inc({ reason });
  }

  /** An admin API request ended; `route` is the route's pattern (method first) or `unmatched`. */
  adminRequest(route: string, status: number, seconds: number): void {
    this.adminRequests.inc({ route, status: String(status) });
    this.adminDuration[route.startsWith('GET ') || route.startsWith('HEAD ') ? 'read' : 'write'].observe(seconds);
  }

  /** A webhook delivery attempt ended (SenderObserver). */
  attempted(outcome: (typeof DELIVERY_OUTCOMES)[number]): void {
    this.webhookDeliveries.inc({ outcome });
  }

  // CacheObserver
  lookup(source: 'cache' | 'store' | 'negative', seconds: number): void {
    (source === 'store' ? this.authStore : source === 'cache' ? this.authCache : this.authNegative).observe(seconds);
  }
  hit(): void {
    this.hits.count++;
  }
  miss(): void {
    this.misses.count++;
  }
  storeError(op: string): void {
    this.storeErrors.inc({ op });
  }
  invalidated(lagSeconds: number): void {
    this.invalidations.inc();
    this.invalidationLag.observe(lagSeconds);
  }
  reset(): void {
    this.cacheResets.inc();
  }
}
