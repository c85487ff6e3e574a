import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheObserver } from '../auth/token-cache.js';
import type { Outcome } from '../auth/decision.js';
import { RIGHTS } from '../tokens/record.js';

/** `right` label values: a right, or `none` when the request was refused before one was known. */
export type RightLabel = (typeof RIGHTS)[number] | 'none';
const RIGHT_LABELS: readonly RightLabel[] = [...RIGHTS, 'none'];
const OUTCOMES: readonly Outcome[] = ['allowed', 'unauthenticated', 'forbidden', 'not_found', 'unavailable', 'upstream_error'];

type Child<T> = { [K in RightLabel]: T };

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export interface MetricsSources {
  cacheEntries(): number;
  /** Whether the store answers now; asked at each scrape. */
  isStoreUp(): Promise<boolean>;
  /** Counts of tokens by kind and status; read at most once per scrape. */
  tokenCounts(): Promise<Array<{ kind: string; status: string; count: number }>>;
}

/**
 * Every SPEC §8 instrument on a private registry, with label children bound once at start so
 * the hot path never builds a label set.
 */
export class Metrics implements CacheObserver {
  readonly registry = new Registry();
  private readonly requests: Child<Record<Outcome, Counter.Internal>>;
  private readonly durations: Child<Histogram.Internal<string>>;
  private readonly authCache: Histogram.Internal<string>;
  private readonly authStore: Histogram.Internal<string>;
  private readonly authNegative: Histogram.Internal<string>;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly invalidations: Counter;
  private readonly invalidationLag: Histogram;
  private readonly cacheResets: Counter;
  private readonly storeErrors: Counter<'op'>;
  private readonly upstreamErrors: Counter<'reason'>;
  readonly upstreamDuration: Histogram;
  readonly requestBytes: Counter;
  readonly responseBytes: Counter;
  readonly inflight: Gauge;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const requestsTotal = new Counter({
      name: 'tollgate_requests_total',
      help: 'Data-plane requests by the right they needed and how they ended.',
      labelNames: ['right', 'outcome'],
      registers,
    });
    const duration = new Histogram({
      name: 'tollgate_request_duration_seconds',
      help: 'Time from request start to response end on the data plane.',
      labelNames: ['right'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.requests = {} as Child<Record<Outcome, Counter.Internal>>;
    this.durations = {} as Child<Histogram.Internal<string>>;
    for (const right of RIGHT_LABELS) {
      const byOutcome = {} as Record<Outcome, Counter.Internal>;
      for (const outcome of OUTCOMES) byOutcome[outcome] = requestsTotal.labels(right, outcome);
      this.requests[right] = byOutcome;
      this.durations[right] = duration.labels(right);
    }
    const auth = new Histogram({
      name: 'tollgate_auth_duration_seconds',
      help: 'Time to resolve a token, by where the answer came from.',
      labelNames: ['source'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.25, 1],
      registers,
    });
    this.authCache = auth.labels('cache');
    this.authStore = auth.labels('store');
    this.authNegative = auth.labels('negative');
    this.cacheHits = new Counter({ name: 'tollgate_cache_hits_total', help: 'Token lookups answered by the cache.', registers });
    this.cacheMisses = new Counter({ name: 'tollgate_cache_misses_total', help: 'Token lookups that went to the store.', registers });
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
    this.upstreamDuration = new Histogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time from forwarding a request to the upstream response headers.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.requestBytes = new Counter({ name: 'tollgate_request_bytes_total', help: 'Request body bytes forwarded.', registers });
    this.responseBytes = new Counter({ name: 'tollgate_response_bytes_total', help: 'Response body bytes returned.', registers });
    this.inflight = new Gauge({ name: 'tollgate_inflight_requests', help: 'Data-plane requests in progress.', registers });
    new Gauge({
      name: 'tollgate_tokens',
      help: 'Tokens in the store by kind and status.',
      labelNames: ['kind', 'status'],
      registers,
      async collect() {
        this.reset();
        try {
          for (const { kind, status, count } of await sources.tokenCounts()) this.set({ kind, status }, count);
        } catch {
          // store down: the series drop out and tollgate_store_up says why
        }
      },
    });
  }

  request(right: RightLabel, outcome: Outcome, seconds: number): void {
    this.requests[right][outcome].inc();
    this.durations[right].observe(seconds);
  }

  upstreamError(reason: 'refused' | 'reset' | 'timeout' | 'other'): void {
    this.upstreamErrors.inc({ reason });
  }

  // CacheObserver
  lookup(source: 'cache' | 'store' | 'negative', seconds: number): void {
    (source === 'store' ? this.authStore : source === 'cache' ? this.authCache : this.authNegative).observe(seconds);
  }
  hit(): void {
    this.cacheHits.inc();
  }
  miss(): void {
    this.cacheMisses.inc();
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
