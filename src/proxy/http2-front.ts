import { createServer, type Http2Server, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import type { Socket } from 'node:net';
import { workloadFields, type DecisionStep, type Verdicts } from '../auth/decide.js';
import { DENIALS, type DenyReason, type Outcome } from '../auth/decision.js';
import { PROBLEMS } from '../http/problems.js';
import { requestIdFor } from '../http/request-id.js';
import type { Logger } from '../log/logger.js';
import { redactTarget } from '../log/redact.js';
import type { Clock } from '../clock.js';
import type { EndReason, Metrics, RightLabel } from '../metrics/metrics.js';
import type { Right } from '../tokens/record.js';
import type { GrpcUpstream } from './grpc-upstream.js';
import { upstreamHeaders } from './headers.js';
import { StreamExchange, type StreamSink } from './http2-exchange.js';
import { streamHead } from './http2-headers.js';
import { HeaderBlockDeadline } from './header-block-deadline.js';
import type { UpstreamFailure } from './upstream-errors.js';
import type { UpstreamPool } from './upstream-pool.js';
import { NO_TRACING, type Tracing } from '../tracing/tracing.js';

/** What a configuration reload may set on the HTTP/2 front while it serves. */
export type Http2Settings = Pick<Http2FrontOptions, 'upstream' | 'forwardAuthorization' | 'accessLog' | 'headersTimeoutMs'>;

export interface Http2FrontOptions {
  upstream: UpstreamPool;
  /** Where gRPC calls go; undefined: they are refused with 14 UNAVAILABLE once judged. */
  grpc: GrpcUpstream | undefined;
  decisions: DecisionStep;
  metrics: Metrics;
  logger: Logger;
  forwardAuthorization: boolean;
  accessLog: boolean;
  /** `proxy.timeouts.headers`: a header block not whole within it ends its connection. */
  headersTimeoutMs: number;
  /** The RFC 6750 challenge or Retry-After a refusal carries, as the HTTP/1.1 port sends them. */
  refusalHeaders(reason: DenyReason): Readonly<Record<string, string>> | undefined;
  clock: Clock;
  /** Called with each stream exchange once judged and forwarded (the registry of open exchanges). */
  opened?(exchange: StreamExchange): void;
  /** Called once when an exchange given to `opened` has ended, however it ended. */
  released?(exchange: StreamExchange): void;
  /** TRACING: where exchanges start their spans (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
  /** Usage history (docs/usage.md): each forwarded exchange's bytes are counted here when it ends. */
  usage?: UsageRecorder;
}

/** Streams one connection may have open at once (RFC 9113 §6.5.2 SETTINGS_MAX_CONCURRENT_STREAMS). */
const MAX_CONCURRENT_STREAMS = 128;

/**
 * HTTP/2 on the proxy port, behind the same listener as HTTP/1.1: a `node:http2` server that never
 * listens itself but is handed sockets, TLS ones that chose `h2` by ALPN and cleartext ones that
 * opened with the HTTP/2 preface. Each stream runs the HTTP/1.1 pipeline's steps with the same
 * decision step, refusals and metrics, then goes to the HTTP/1.1 upstream pool (as nginx does) or,
 * for a gRPC call, to the gRPC upstream over h2c.
 */
export class Http2Front implements Verdicts<StreamExchange>, StreamSink {
  readonly server: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly headerBlocks: HeaderBlockDeadline;

  constructor(private readonly options: Http2FrontOptions) {
    this.headerBlocks = new HeaderBlockDeadline(options.headersTimeoutMs);
    // Header blocks up to twice HTTP/1.1's 16 KiB: HPACK counts 32 bytes more per field. Beyond,
    // nghttp2 refuses the stream; the decision step still refuses more than 200 fields with 431.
    this.server = createServer({ maxHeaderListPairs: 256, settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: 32 * 1024 } });
    this.server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      this.headerBlocks.track(session);
      session.on('error', () => {}); // a peer's protocol error ends its session; nothing to report
      session.on('close', () => this.sessions.delete(session));
    });
    this.server.on('stream', (stream: ServerHttp2Stream, _headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => this.handle(stream, rawHeaders));
  }

  /** Takes over a socket that speaks HTTP/2; `firstBytes` were read from it already and are put back. */
  accept(socket: Socket, firstBytes?: Buffer): void {
    if (firstBytes !== undefined) {
      // Paused, so the bytes put back wait in its buffer for the session, which reads it first.
      socket.pause();
      socket.unshift(firstBytes);
    }
    this.server.emit('connection', socket);
  }

  /** Takes reloaded settings: streams opened from now on read them; open sessions carry on. */
  apply(settings: Http2Settings): void {
    Object.assign(this.options, settings);
    this.headerBlocks.deadlineMs = settings.headersTimeoutMs;
  }

  /** Open HTTP/2 connections. */
  get size(): number {
    return this.sessions.size;
  }

  /** Shutdown began: each session gets GOAWAY, its open streams finish; resolves when all closed. */
  drain(): Promise<void> {
    const closing = [...this.sessions].map((session) => new Promise<void>((resolve) => (session.closed ? resolve() : session.once('close', () => resolve()))));
    for (const session of this.sessions) session.close();
    return Promise.all(closing).then(() => undefined);
  }

  /** The grace period is over. */
  closeAll(): void {
    for (const session of this.sessions) session.destroy();
  }

  /** The listener closed: no more sweeps. */
  stop(): void {
    this.headerBlocks.stop();
  }

  private handle(stream: ServerHttp2Stream, rawHeaders: string[]): void {
    this.headerBlocks.handedOver(stream);
    const exchange = new StreamExchange(stream, streamHead(rawHeaders), this);
    this.options.metrics.requestStarted();
    // TRACING: the stream's server span, its parent read from the client's traceparent.
    exchange.trace = (this.options.tracing ?? NO_TRACING).startExchange(exchange.isGrpc ? 'grpc' : 'h2', exchange.method, exchange.rawHeaders);
    exchange.requestId = requestIdFor(exchange.requestIdHeader);
    this.options.decisions.decide(exchange, this);
  }

  /** Verdicts: the request may pass. */
  allowed(exchange: StreamExchange, right: Right): void {
    const options = this.options;
    options.metrics.decided(exchange.started);
    exchange.right = right;
    const headers = upstreamHeaders(exchange.rawHeaders, undefined, {
      forwardAuthorization: options.forwardAuthorization,
      requestId: exchange.requestId,
      remoteAddress: exchange.remoteAddress,
      protocol: exchange.protocol,
      identity: exchange.identity,
    });
    // TRACING: the upstream exchange's client span; its traceparent replaces the client's.
    exchange.trace.upstream(headers);
    exchange.forwarded();
    options.opened?.(exchange);
    if (exchange.isGrpc) return this.forwardCall(exchange, headers);
    let head = `${exchange.method} ${exchange.path} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    if (exchange.authority === undefined) head += `host: ${options.upstream.authority}\r\n`;
    if (exchange.body === 'chunked') head += 'transfer-encoding: chunked\r\n';
    exchange.requestHead = `${head}\r\n`;
    options.upstream.dispatch(exchange);
  }

  private forwardCall(exchange: StreamExchange, headers: string[]): void {
    const grpc = this.options.grpc;
    if (grpc === undefined) {
      this.upstreamFailed('refused');
      exchange.refused({ ...PROBLEMS.upstream_unreachable, detail: 'No gRPC upstream is configured (proxy.grpcUpstream).' }, undefined);
      return this.finished(exchange, 'upstream_error', PROBLEMS.upstream_unreachable.status);
    }
    const out = Object.create(null) as OutgoingHttpHeaders;
    out[':method'] = exchange.method;
    out[':path'] = exchange.path;
    out[':scheme'] = 'http';
    out[':authority'] = exchange.authority ?? grpc.authority;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (name === 'host') continue; // it is :authority in HTTP/2
      const seen = out[name];
      out[name] = seen === undefined ? headers[i + 1] : Array.isArray(seen) ? [...seen, headers[i + 1]!] : [String(seen), headers[i + 1]!];
    }
    // gRPC servers may refuse a call without it (PROTOCOL-HTTP2.md); it is hop-by-hop, so dropped above.
    out.te = 'trailers';
    exchange.relayCall(grpc.request(out));
  }

  /** Verdicts: the request is refused; the same problem as on HTTP/1.1, or its gRPC status. */
  refused(exchange: StreamExchange, reason: DenyReason, right: RightLabel = 'none', extra?: Readonly<Record<string, string>>): void {
    if (exchange.isDone) return;
    const denial = DENIALS[reason];
    const fixed = this.options.refusalHeaders(reason);
    const headers = extra === undefined ? fixed : { ...fixed, ...extra };
    exchange.right = right;
    exchange.refused({ status: denial.status, type: denial.type, title: denial.title, detail: denial.detail }, headers);
    exchange.trace.finish(exchange, denial.outcome, denial.status, reason); // TRACING
    const seconds = (performance.now() - exchange.started) / 1000;
    this.options.metrics.request(right, denial.outcome, seconds, exchange.credential);
    if (this.options.accessLog) {
      this.options.logger.info({ requestId: exchange.requestId, protocol: exchange.isGrpc ? 'grpc' : 'h2', method: exchange.method, path: redactTarget(exchange.url), status: denial.status, grpcStatus: exchange.grpcStatus, right, outcome: denial.outcome, reason, credential: exchange.credential });
    }
  }

  /** StreamSink: a forwarded exchange ended. */
  finished(exchange: StreamExchange, outcome: Outcome, status: number): void {
    const { metrics } = this.options;
    exchange.releaseLimits();
    this.options.released?.(exchange);
    exchange.trace.finish(exchange, outcome, status); // TRACING
    const seconds = (performance.now() - exchange.started) / 1000;
    metrics.request(exchange.right, outcome, seconds, exchange.credential, exchange.liveProtocol);
    metrics.forwarded(exchange.upstreamSeconds, exchange.requestBytes, exchange.responseBytes);
    this.options.usage?.ended(exchange.token, exchange.requestBytes, exchange.responseBytes);
    if (this.options.accessLog) {
      this.options.logger.info({
        requestId: exchange.requestId,
        protocol: exchange.isGrpc ? 'grpc' : 'h2',
        method: exchange.method,
        path: redactTarget(exchange.url),
        status,
        grpcStatus: exchange.grpcStatus,
        right: exchange.right,
        outcome,
        tokenId: exchange.identity?.tokenId,
        credential: exchange.credential,
        ...workloadFields(exchange.identity),
        ms: Math.round(seconds * 1000 * 100) / 100,
        bytesIn: exchange.requestBytes,
        bytesOut: exchange.responseBytes,
      });
    }
  }

  /** StreamSink: the client reset the stream before it was forwarded. */
  abandoned(exchange: StreamExchange): void {
    exchange.releaseLimits();
    exchange.trace.finish(exchange, 'abandoned', 499); // TRACING
    this.options.metrics.requestAbandoned();
  }

  /** StreamSink: Tollgate ended an open exchange (revoked, expired, rights, quota). */
  exchangeCut(reason: EndReason): void {
    this.options.metrics.exchangeEnded(reason);
  }

  /** StreamSink: the injected clock. */
  now(): number {
    return this.options.clock.now();
  }

  /** StreamSink: the upstream failed. */
  upstreamFailed(reason: UpstreamFailure['reason']): void {
    this.options.metrics.upstreamError(reason);
  }
}
