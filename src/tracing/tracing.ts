/**
 * Traces (docs/tracing.md): what the request paths call, whether or not tracing is on.
 * This file imports nothing of OpenTelemetry: with no `telemetry.otlp.endpoint` the process runs
 * on NO_TRACING below and never loads the SDK (start-tracing.ts imports it only when configured).
 */

/** How an exchange came in: the span's `network.protocol.name` and `rpc.system`. */
export type TracedProtocol = 'http/1.1' | 'h2' | 'grpc' | 'websocket' | 'decision';

/** What a server span names of the caller: the token's id (never its secret) and the repository. */
export interface TracedIdentity {
  readonly tokenId: string;
  readonly repository: string;
}

/**
 * What a server span reads of an exchange when it ends: set by the decision step. Never a secret:
 * the token's id (not its secret), the path without its query (a token may ride in a query).
 */
export interface TracedRequest {
  readonly method: string;
  /** The checked path, maybe with a query, which the span leaves out. */
  readonly path: string;
  readonly right: string;
  readonly identity: TracedIdentity | undefined;
  /** The route pattern matched (`/v1/repositories/:repository/**`), when one matched. */
  readonly route?: string | undefined;
  readonly credential: string;
}

/** A store lookup on a cache miss: its span ends with the lookup. */
export interface LookupTrace {
  end(isFailed: boolean): void;
}

/** One exchange's spans: the server span, and the store lookup and upstream client spans under it. */
export interface ExchangeTrace {
  /** A cache miss went to the store. */
  storeLookup(): LookupTrace;
  /**
   * The request goes upstream: starts the client span and puts its `traceparent` (and the
   * `tracestate` that came) in `headers`, a flat name/value list, in place of the client's.
   */
  upstream(headers: string[]): void;
  /** The exchange ended (answered, refused, cut or abandoned): its attributes, then every span ends. */
  finish(request: TracedRequest, outcome: string, status: number, reason?: string): void;
}

/** One admin call's server span. */
export interface AdminTrace {
  /** `route` is the pattern (`GET /v1/tokens/{id}`), never the path with its ids. */
  finish(route: string, status: number): void;
}

/** Where the request paths start their spans (a no-op when tracing is off). */
export interface Tracing {
  /** A server span for one exchange, its parent read from the request's `traceparent`/`tracestate`. */
  startExchange(protocol: TracedProtocol, method: string, rawHeaders: readonly string[]): ExchangeTrace;
  /** A server span for one admin call. */
  startAdmin(method: string, rawHeaders: readonly string[]): AdminTrace;
  /** Sends the spans still queued and stops the exporter. */
  shutdown(): Promise<void>;
}

const NO_LOOKUP: LookupTrace = { end() {} };

/** The trace of every exchange while tracing is off: nothing is recorded, the client's headers pass as they came. */
export const NO_TRACE: ExchangeTrace = {
  storeLookup: () => NO_LOOKUP,
  upstream() {},
  finish() {},
};

const NO_ADMIN_TRACE: AdminTrace = { finish() {} };

/** Tracing off (no endpoint): one shared object, no allocation per request. */
export const NO_TRACING: Tracing = {
  startExchange: () => NO_TRACE,
  startAdmin: () => NO_ADMIN_TRACE,
  shutdown: () => Promise.resolve(),
};
