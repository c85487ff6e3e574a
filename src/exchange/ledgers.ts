import { performance } from 'node:perf_hooks';
import type { DenyReason, Outcome } from '../auth/decision.js';
import { type CredentialLabel, type RightLabel, workloadFields } from '../auth/verdict.js';
import type { Clock } from '../clock.js';
import type { EndReason, LiveProtocol } from '../exchange/endings.js';
import type { Logger } from '../log/logger.js';
import { redactTarget } from '../log/redact.js';
import { NO_TRACING, type Tracing } from '../tracing/tracing.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import type { EndKind, ExchangeCore, ExchangeHooks, ExchangeLedger, LiveRegistry } from './core.js';

/**
 * What the proxy's and the decision port's ledgers count (docs/reference/metrics.md). The metrics
 * implement it: they sit above the exchange core and name its words as label values, as they do
 * auth's (CacheObserver), so nothing here imports them.
 */
export interface ExchangeCounts {
  /** A data-plane request began. */
  requestStarted(): void;
  /** A data-plane request was allowed and is forwarded now; `started`: when its head was read (performance.now()). */
  decided(started: number): void;
  /** A data-plane request ended without an answer. */
  requestAbandoned(): void;
  /** A data-plane request ended with an answer; `protocol`: what a forwarded exchange was carried as. */
  request(right: RightLabel, outcome: Outcome, seconds: number, credential: CredentialLabel, protocol: LiveProtocol): void;
  /** A forwarded exchange's upstream time to headers and the body bytes it moved. */
  forwarded(upstreamSeconds: number, requestBytes: number, responseBytes: number): void;
  upstreamError(reason: 'refused' | 'reset' | 'timeout' | 'other'): void;
  /** Tollgate ended an open exchange. */
  exchangeEnded(reason: EndReason): void;
  /** The decision port answered a question. */
  decisionAnswered(outcome: Outcome): void;
}

/** What a ledger reads at each exchange's end; `accessLog` may be set anew by a reload. */
export interface LedgerOptions {
  metrics: ExchangeCounts;
  logger: Logger;
  clock: Clock;
  accessLog: boolean;
  /** Where exchanges start their spans (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing | undefined;
  /** Usage history (docs/usage.md): each forwarded exchange's bytes are counted here when it ends. */
  usage?: UsageRecorder | undefined;
}

/** Milliseconds with two decimals, for the access log. */
const millis = (seconds: number): number => Math.round(seconds * 1000 * 100) / 100;

/**
 * The proxy port's ledger, for HTTP/1.1 exchanges and HTTP/2 streams alike: requests in flight,
 * one `requests_total` and (once forwarded) `forwarded` observation per exchange, and one
 * access-log line in one shape (docs/operations.md).
 */
export class ProxyLedger implements ExchangeLedger {
  hooks: ExchangeHooks | undefined = undefined;
  readonly tracing: Tracing;

  constructor(
    private readonly options: LedgerOptions,
    readonly live: LiveRegistry | undefined,
  ) {
    this.tracing = options.tracing ?? NO_TRACING;
  }

  now(): number {
    return this.options.clock.now();
  }

  started(): void {
    this.options.metrics.requestStarted();
  }

  /** From reading the head to forwarding it: tollgate_added_latency_seconds. */
  allowed(exchange: ExchangeCore): void {
    this.options.metrics.decided(exchange.started);
  }

  ended(exchange: ExchangeCore, kind: EndKind, outcome: Outcome, status: number, reason: DenyReason | undefined): void {
    const { metrics } = this.options;
    if (kind === 'abandoned') return metrics.requestAbandoned();
    const seconds = (performance.now() - exchange.started) / 1000;
    const isForwarded = kind === 'forwarded';
    // A forwarded exchange is timed by what carried it (a WebSocket or gRPC call in its own histogram).
    metrics.request(exchange.right, outcome, seconds, exchange.credential, isForwarded ? exchange.liveProtocol : 'http');
    if (isForwarded) {
      metrics.forwarded(exchange.upstreamSeconds, exchange.countedRequestBytes, exchange.responseBytes);
      this.options.usage?.ended(exchange.token, exchange.requestBytes, exchange.responseBytes);
    }
    if (!this.options.accessLog) return;
    // Fields left undefined are left out of the line.
    this.options.logger.info({
      requestId: exchange.requestId,
      protocol: exchange.logProtocol,
      method: exchange.method,
      path: redactTarget(exchange.url),
      status,
      grpcStatus: exchange.grpcStatus,
      right: exchange.right,
      outcome,
      reason,
      tokenId: exchange.identity?.tokenId,
      credential: exchange.credential,
      ...workloadFields(exchange.identity),
      ms: isForwarded ? millis(seconds) : undefined,
      bytesIn: isForwarded ? exchange.requestBytes : undefined,
      bytesOut: isForwarded ? exchange.responseBytes : undefined,
    });
  }

  upstreamFailed(reason: 'refused' | 'reset' | 'timeout' | 'other'): void {
    this.options.metrics.upstreamError(reason);
  }

  exchangeCut(reason: EndReason): void {
    this.options.metrics.exchangeEnded(reason);
  }
}

/**
 * The decision port's ledger: one `decisions_total` per answered question and one access-log
 * line naming the request asked about; nothing is forwarded, held open or counted in flight.
 */
export class DecisionLedger implements ExchangeLedger {
  readonly live = undefined;
  hooks: ExchangeHooks | undefined = undefined;
  readonly tracing: Tracing;

  constructor(private readonly options: LedgerOptions) {
    this.tracing = options.tracing ?? NO_TRACING;
  }

  now(): number {
    return this.options.clock.now();
  }

  started(): void {}

  ended(exchange: ExchangeCore, kind: EndKind, outcome: Outcome, status: number, reason: DenyReason | undefined): void {
    // A question whose asker left before its answer: nothing was decided to count.
    if (kind === 'abandoned' || kind === 'forwarded') return;
    this.options.metrics.decisionAnswered(outcome);
    if (!this.options.accessLog) return;
    const asked = exchange.asked ?? exchange;
    this.options.logger.info({
      port: 'decision',
      requestId: exchange.requestId,
      method: asked.method,
      path: redactTarget(asked.url),
      status,
      right: exchange.right,
      outcome,
      reason,
      tokenId: exchange.identity?.tokenId,
      ...workloadFields(exchange.identity),
    });
  }

  upstreamFailed(): void {}

  exchangeCut(): void {}
}
