import { randomFillSync } from 'node:crypto';
import {
  type Context,
  ROOT_CONTEXT,
  SamplingDecision,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  TraceFlags,
  type Tracer,
  type TraceState,
  trace,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type IdGenerator,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Logger } from '../log/logger.js';
import type { AdminTrace, ExchangeTrace, LookupTrace, TracedProtocol, TracedRequest, Tracing } from './tracing.js';

/** `telemetry` as validated (docs/tracing.md). */
export interface TelemetrySettings {
  otlp: { endpoint: string; headers: Record<string, string> };
  sampleRatio: number;
  serviceName: string;
}

/**
 * Where spans go: the endpoint is the collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT is), so
 * `/v1/traces` is added unless the path already names it.
 */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.href;
}

/** Reads a flat name/value header list (names in any case) for the W3C propagator. */
const RAW_GETTER: TextMapGetter<readonly string[]> = {
  keys(raw) {
    const names: string[] = [];
    for (let i = 0; i < raw.length; i += 2) names.push(raw[i]!.toLowerCase());
    return names;
  },
  get(raw, key) {
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === key.length && raw[i]!.toLowerCase() === key) return raw[i + 1];
    return undefined;
  },
};

/** Appends to a flat name/value header list (the upstream's). */
const RAW_SETTER: TextMapSetter<string[]> = {
  set(raw, key, value) {
    raw.push(key, value);
  },
};

/** Takes the client's trace fields out of an upstream header list: ours take their place. */
function dropTraceFields(headers: string[]): void {
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const isTraceField = (name.length === 11 && name.toLowerCase() === 'traceparent') || (name.length === 10 && name.toLowerCase() === 'tracestate');
    if (isTraceField) continue;
    headers[kept++] = name;
    headers[kept++] = headers[i + 1]!;
  }
  headers.length = kept;
}

/** The path without its query: a token may be sent as `access_token`, and a query is never a span attribute. */
function withoutQuery(path: string): string {
  const at = path.indexOf('?');
  return at === -1 ? path : path.slice(0, at);
}

const NO_LOOKUP: LookupTrace = { end() {} };

class StoreLookupSpan implements LookupTrace {
  constructor(private readonly span: Span) {}

  end(isFailed: boolean): void {
    if (isFailed) this.span.setStatus({ code: SpanStatusCode.ERROR, message: 'store unavailable' });
    this.span.end();
  }
}

/**
 * An exchange whose trace is not sampled (99 in 100 at the default ratio): no span is made at
 * all, only the ids the upstream's traceparent names, flag off, so the upstream keeps the trace
 * and the decision. The traceparent is written as the W3C propagator writes it (W3C Trace
 * Context §3.2).
 */
class UnsampledTrace implements ExchangeTrace {
  constructor(
    private readonly traceId: string,
    private readonly spanId: string,
    private readonly traceState: TraceState | undefined,
  ) {}

  storeLookup(): LookupTrace {
    return NO_LOOKUP;
  }

  upstream(headers: string[]): void {
    dropTraceFields(headers);
    headers.push('traceparent', `00-${this.traceId}-${this.spanId}-00`);
    const state = this.traceState?.serialize();
    if (state) headers.push('tracestate', state);
  }

  finish(): void {}
}

/** Random bytes drawn 4 KiB at a time: an id is then a slice written as hex, not four Math.random calls. */
const POOL_BYTES = 4096;

/**
 * Random ids (W3C Trace Context §3.2.2.3: 16 and 8 random bytes, never all zero), from a pool of
 * crypto-random bytes; and the next trace id may be chosen: a root whose trace id the ratio
 * sampler already accepted is started by the SDK on that same id, so the SDK's own sampler
 * (deterministic on the trace id) decides the same.
 */
class ChosenIdGenerator implements IdGenerator {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private offset = POOL_BYTES;
  next: string | undefined;

  generateTraceId(): string {
    const chosen = this.next;
    this.next = undefined;
    return chosen ?? this.draw(16);
  }

  generateSpanId(): string {
    return this.draw(8);
  }

  private draw(bytes: number): string {
    if (this.offset + bytes > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const start = this.offset;
    this.offset += bytes;
    const id = this.pool.toString('hex', start, start + bytes);
    // All zeros is the invalid id; one in 2^64 draws at worst, drawn again.
    return /^0+$/.test(id) ? this.draw(bytes) : id;
  }
}

/** One exchange: the server span, and the client span once the request went upstream. */
class OtelExchangeTrace implements ExchangeTrace {
  private client: Span | undefined;
  /** The server span's context, made only for a recorded span (a child needs it). */
  private spanContext: Context | undefined;
  /** A question whose asker left is finished as abandoned, then may still be answered: once only. */
  private isFinished = false;

  constructor(
    private readonly tracing: OtelTracing,
    private readonly server: Span,
    private readonly parent: Context,
    private readonly protocol: TracedProtocol,
    private readonly method: string,
  ) {}

  private get context(): Context {
    this.spanContext ??= trace.setSpan(this.parent, this.server);
    return this.spanContext;
  }

  storeLookup(): LookupTrace {
    // Not sampled: no child is recorded either, so none is made.
    if (!this.server.isRecording()) return NO_LOOKUP;
    return new StoreLookupSpan(
      this.tracing.tracer.startSpan('tollgate.store.lookup', { kind: SpanKind.INTERNAL, attributes: { 'db.operation.name': 'getToken' } }, this.context),
    );
  }

  upstream(headers: string[]): void {
    dropTraceFields(headers);
    if (!this.server.isRecording()) {
      // An unsampled trace (most of them at a small ratio) passes on the server span's own ids,
      // flag off: the upstream keeps the trace id and the decision. Written here as the W3C
      // propagator would (W3C Trace Context §3.2), without the context and client span that
      // only a recorded trace needs: this is the path every unsampled request takes.
      const { traceId, spanId, traceFlags, traceState } = this.server.spanContext();
      headers.push('traceparent', `00-${traceId}-${spanId}-0${(traceFlags & 0xf).toString(16)}`);
      const state = traceState?.serialize();
      if (state) headers.push('tracestate', state);
      return;
    }
    this.client = this.tracing.tracer.startSpan(this.method, { kind: SpanKind.CLIENT, attributes: { 'http.request.method': this.method } }, this.context);
    if (this.protocol === 'grpc') this.client.setAttribute('rpc.system', 'grpc');
    this.tracing.propagator.inject(trace.setSpan(this.context, this.client), headers, RAW_SETTER);
  }

  finish(request: TracedRequest, outcome: string, status: number, reason?: string): void {
    if (this.isFinished) return;
    this.isFinished = true;
    const server = this.server;
    if (server.isRecording()) {
      const route = request.route;
      const identity = request.identity;
      server.setAttributes({
        'http.request.method': request.method,
        'url.path': withoutQuery(request.path),
        'http.response.status_code': status,
        'tollgate.protocol': this.protocol,
        'tollgate.right': request.right,
        'tollgate.outcome': outcome,
        'tollgate.credential': request.credential,
      });
      if (route !== undefined) {
        server.setAttribute('http.route', route);
        server.updateName(`${request.method} ${route}`);
      }
      if (reason !== undefined) server.setAttribute('tollgate.reason', reason);
      if (identity !== undefined) server.setAttributes({ 'tollgate.token.id': identity.tokenId, 'tollgate.repository': identity.repository });
      // A server span is an error only when the server failed (5xx), not when it refused (4xx).
      if (status >= 500 || outcome === 'upstream_error') server.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      const client = this.client;
      if (client !== undefined) {
        this.client = undefined;
        client.setAttribute('http.response.status_code', status);
        if (outcome === 'upstream_error') client.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream_error' });
        client.end();
      }
    }
    server.end();
  }
}

class OtelAdminTrace implements AdminTrace {
  constructor(
    private readonly span: Span,
    private readonly method: string,
  ) {}

  finish(route: string, status: number): void {
    const span = this.span;
    if (span.isRecording()) {
      span.updateName(route);
      span.setAttributes({
        'http.request.method': this.method,
        'http.route': route.slice(route.indexOf(' ') + 1),
        'http.response.status_code': status,
        'tollgate.port': 'admin',
      });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/**
 * Says when an export fails (the SDK's own diagnostics are off unless a global logger is set,
 * which would be global state for one part). The exporter's headers are never logged.
 */
class LoggedExporter implements SpanExporter {
  private lastWarnedAt = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(spans, (result) => {
      const now = Date.now();
      // At most one line a minute: a collector that is down must not fill the log.
      if (result.code !== ExportResultCode.SUCCESS && now - this.lastWarnedAt >= 60_000) {
        this.lastWarnedAt = now;
        this.logger.warn({ err: result.error?.message, spans: spans.length }, 'telemetry: spans not exported');
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * Tracing with the OpenTelemetry SDK: spans sampled by ratio (a parent's decision is kept), batched
 * and sent over OTLP/HTTP (JSON). Contexts are passed by hand from span to span, so no global
 * provider, propagator or async context manager is installed.
 */
export class OtelTracing implements Tracing {
  readonly tracer: Tracer;
  readonly propagator = new W3CTraceContextPropagator();
  private readonly provider: TracerProvider;
  private readonly ids = new ChosenIdGenerator();
  /** The root sampler the SDK's parent-based sampler holds too. */
  private readonly rootSampler: TraceIdRatioBasedSampler;

  constructor(settings: TelemetrySettings, logger: Logger, version: string) {
    this.rootSampler = new TraceIdRatioBasedSampler(settings.sampleRatio);
    const exporter = new OTLPTraceExporter({ url: tracesUrl(settings.otlp.endpoint), headers: { ...settings.otlp.headers }, timeoutMillis: 10_000 });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': version }),
      // A parent's decision is kept (sampled stays sampled, unsampled stays so); a root is sampled by ratio.
      sampler: new ParentBasedSampler({ root: this.rootSampler }),
      idGenerator: this.ids,
      spanProcessors: [new BatchSpanProcessor({ exporter: new LoggedExporter(exporter, logger) })],
    });
    this.tracer = this.provider.getTracer('tollgate', version);
  }

  startExchange(protocol: TracedProtocol, method: string, rawHeaders: readonly string[]): ExchangeTrace {
    const parent = this.propagator.extract(ROOT_CONTEXT, rawHeaders, RAW_GETTER);
    // The decision the SDK's parent-based sampler would take, taken first: an unsampled exchange
    // (most of them) then costs two random ids and no span (bench/RESULTS.md, "Traces").
    const parentSpan = trace.getSpanContext(parent);
    if (parentSpan === undefined) {
      const traceId = this.ids.generateTraceId();
      if (this.rootSampler.shouldSample(parent, traceId).decision === SamplingDecision.NOT_RECORD)
        return new UnsampledTrace(traceId, this.ids.generateSpanId(), undefined);
      this.ids.next = traceId;
    } else if ((parentSpan.traceFlags & TraceFlags.SAMPLED) === 0) {
      return new UnsampledTrace(parentSpan.traceId, this.ids.generateSpanId(), parentSpan.traceState);
    }
    // Named again at the end, once the route is known (`GET /v1/repositories/:repository/**`).
    const server = this.tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
    return new OtelExchangeTrace(this, server, parent, protocol, method);
  }

  startAdmin(method: string, rawHeaders: readonly string[]): AdminTrace {
    const parent = this.propagator.extract(ROOT_CONTEXT, rawHeaders, RAW_GETTER);
    return new OtelAdminTrace(this.tracer.startSpan(method, { kind: SpanKind.SERVER }, parent), method);
  }

  /** Never rejects: a last export that fails was logged already, and must not fail the process's shutdown. */
  shutdown(): Promise<void> {
    return this.provider.shutdown().catch(() => {});
  }
}
