import { performance } from 'node:perf_hooks';
import type { Identity } from '../auth/authorize.js';
import type { AllowedRequest } from '../auth/decide.js';
import type { DenyReason, Outcome } from '../auth/decision.js';
import type { TokenSource } from '../auth/token-sources.js';
import type { Allowed, CredentialLabel, ForwardIdentity, RightLabel } from '../auth/verdict.js';
import type { EndReason, LiveProtocol } from '../exchange/endings.js';
import { requestIdFor } from '../http/request-id.js';
import type { TokenBudget } from '../limits/token-budget.js';
import { type ExchangeTrace, NO_TRACE, type TracedProtocol, type TracedRequest, type Tracing } from '../tracing/tracing.js';

/**
 * How an exchange ended, for what is counted and logged: `forwarded` (it reached the upstream,
 * or was allowed and then failed or was cut), `refused` (the verdict's refusal was answered),
 * `answered` (the decision port's 200), `abandoned` (the client left before anything was decided
 * or forwarded: counted, never logged).
 */
export type EndKind = 'forwarded' | 'refused' | 'answered' | 'abandoned';

/** An exchange in flight on a token (an HTTP request, a WebSocket, an HTTP/2 stream, a gRPC call), as the registry of open exchanges sees it. */
export interface LiveExchange extends AllowedRequest {
  readonly identity: ForwardIdentity | undefined;
  readonly token?: Identity | undefined;
  /** The `live_exchanges` label it counts under. */
  readonly liveProtocol: LiveProtocol;
  /** Ends it because its token no longer allows it, and counts that; idempotent. */
  end(reason: EndReason): void;
  /** The registry's own: where it keeps this exchange in its token's list (-1: in none). */
  liveSlot: number;
}

/** The registry of open exchanges (proxy/live-exchanges.ts), as the core uses it. */
export interface LiveRegistry {
  add(exchange: LiveExchange): void;
  remove(exchange: LiveExchange): void;
}

/**
 * Where tracing (or any other observer) hooks into every exchange, whatever its protocol. Each
 * is called once per exchange, synchronously, in this order.
 */
export interface ExchangeHooks {
  /** The exchange began: its head is parsed and its request id is set. */
  started?(exchange: ExchangeCore): void;
  /**
   * The request is about to be written to the upstream: `headers` is the flat name/value list
   * that goes (after hop-by-hop and x-tollgate-* handling); fields pushed onto it are sent too.
   */
  upstreamRequest?(exchange: ExchangeCore, headers: string[]): void;
  /** The exchange ended, however it ended; everything was released, counted and logged before. */
  finished?(exchange: ExchangeCore, kind: EndKind, outcome: Outcome, status: number): void;
}

/** What a port does with each exchange's start and end: metrics, the access log, the registry of open exchanges. */
export interface ExchangeLedger {
  /** The registry open exchanges join once allowed; absent on a port that forwards nothing (the decision port). */
  readonly live: LiveRegistry | undefined;
  /** Observers of every exchange; absent: none. */
  hooks: ExchangeHooks | undefined;
  /** Where each exchange starts its spans (docs/tracing.md); NO_TRACING while tracing is off. */
  readonly tracing: Tracing;
  /** The injected clock, for the token's limits. */
  now(): number;
  /** Counted when the exchange begins (requests in flight). */
  started(exchange: ExchangeCore): void;
  /** Counted when the verdict allows it, before anything is forwarded (the latency Tollgate adds). */
  allowed?(exchange: ExchangeCore): void;
  /** Counts and logs the end, once per exchange. */
  ended(exchange: ExchangeCore, kind: EndKind, outcome: Outcome, status: number, reason: DenyReason | undefined): void;
  /** The upstream failed (upstream_errors_total). */
  upstreamFailed(reason: 'refused' | 'reset' | 'timeout' | 'other'): void;
  /** Tollgate ended an open exchange itself (exchanges_ended_total). */
  exchangeCut(reason: EndReason): void;
}

/**
 * What every exchange shares, whatever carried it (HTTP/1.1, an HTTP/2 stream, a gRPC call, a
 * question on the decision port): its ids, the verdict it runs under, its place in the registry
 * of open exchanges, its token's stream slot, its byte counts and timing, and one `finish` that
 * gives the slot back, leaves the registry, counts and logs, exactly once behind one flag however
 * the exchange ends (undici's onFinally is the model). The protocol classes above it only move
 * bytes and say how it ended.
 */
export abstract class ExchangeCore implements LiveExchange {
  /** performance.now() at the head: the duration in metrics and the access log. */
  readonly started = performance.now();
  requestId = '';
  credential: CredentialLabel = 'none';
  tokenSource: TokenSource | undefined = undefined;
  /** From the verdict: the right asked for, the path forwarded, who it runs as, the token as resolved. */
  right: RightLabel = 'none';
  path = '';
  identity: ForwardIdentity | undefined = undefined;
  token: Identity | undefined = undefined;
  /** The token's limits, when it has any: body bytes are spent there; its slot goes back at the finish. */
  limited: TokenBudget | undefined = undefined;
  /** The request a decision port question asks about, when it is not this exchange's own (the access log's method and path). */
  asked: { readonly method: string; readonly url: string } | undefined = undefined;
  requestBytes = 0;
  responseBytes = 0;
  upstreamSeconds = 0;
  status = 0;
  /** The gRPC status the call ended with, when it is one and it is known. */
  grpcStatus: number | undefined = undefined;
  /** This exchange's spans (docs/tracing.md); the shared no-op while tracing is off. */
  trace: ExchangeTrace = NO_TRACE;
  /** Set by the decision step: the route pattern matched, for the span. */
  route: string | undefined = undefined;
  private isFinished = false;
  private isLive = false;
  liveSlot = -1;

  abstract readonly method: string;
  abstract readonly url: string;
  abstract readonly rawHeaders: string[];
  abstract readonly liveProtocol: LiveProtocol;
  /** The access log's `protocol` field (`h2`, `grpc`); undefined for HTTP/1.1, which the log leaves out. */
  abstract readonly logProtocol: 'h2' | 'grpc' | undefined;
  /** How the exchange came in, for its span. */
  abstract readonly tracedProtocol: TracedProtocol;
  abstract end(reason: EndReason): void;

  constructor(protected readonly ledger: ExchangeLedger) {}

  /** True once the exchange has finished: every later event is ignored. */
  get isDone(): boolean {
    return this.isFinished;
  }

  /** Request body bytes counted in `forwarded_bytes` (HTTP/1.1 counts a body only once it came whole). */
  get countedRequestBytes(): number {
    return this.requestBytes;
  }

  /** The head is parsed: the request id (kept from the client, or made) and the start are recorded. */
  begin(requestIdHeader: string | undefined): void {
    // The exchange's server span, its parent read from the client's traceparent.
    this.trace = this.ledger.tracing.startExchange(this.tracedProtocol, this.method, this.rawHeaders);
    this.requestId = requestIdFor(requestIdHeader);
    this.ledger.started(this);
    this.ledger.hooks?.started?.(this);
  }

  /** Takes what the verdict allows, and joins the registry of open exchanges where the port keeps one. */
  allowed(verdict: Allowed): void {
    this.right = verdict.right;
    this.path = verdict.path;
    this.identity = verdict.identity;
    this.token = verdict.token;
    this.limited = verdict.limited;
    this.ledger.allowed?.(this);
    const live = this.ledger.live;
    if (live !== undefined) {
      this.isLive = true;
      live.add(this);
    }
  }

  /** The upstream request's fields, about to be written: observers may add theirs. */
  upstreamRequest(headers: string[]): void {
    // The upstream exchange's client span; its traceparent replaces the client's (which passes
    // as it came while tracing is off).
    this.trace.upstream(headers);
    this.ledger.hooks?.upstreamRequest?.(this, headers);
  }

  /** Spends body bytes (either way) against the token's byte quota; false: the quota ran out. */
  spend(bytes: number): boolean {
    const limited = this.limited;
    return limited === undefined || limited.spendBytes(bytes, this.ledger.now());
  }

  /** What the span reads: this exchange, or for a decision port question the request asked about. */
  private traced(): TracedRequest {
    const asked = this.asked;
    if (asked === undefined) return this;
    return { method: asked.method, path: this.path, right: this.right, identity: this.identity, route: this.route, credential: this.credential };
  }

  /**
   * The exchange ended: its slot goes back, it leaves the registry, it is counted and logged, and
   * observers hear of it. Only the first call does anything; it returns whether it was that one.
   */
  finish(kind: EndKind, outcome: Outcome, status: number, reason?: DenyReason): boolean {
    if (this.isFinished) return false;
    this.isFinished = true;
    const limited = this.limited;
    if (limited !== undefined) {
      this.limited = undefined;
      limited.streamEnded();
    }
    if (this.isLive) {
      this.isLive = false;
      this.ledger.live!.remove(this);
    }
    this.trace.finish(this.traced(), kind === 'abandoned' ? 'abandoned' : outcome, kind === 'abandoned' ? 499 : status, reason);
    this.ledger.ended(this, kind, outcome, status, reason);
    this.ledger.hooks?.finished?.(this, kind, outcome, status);
    return true;
  }
}
