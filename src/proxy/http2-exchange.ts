import type { PeerCertificate } from 'node:tls';
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { ForwardIdentity, Judged } from '../auth/decide.js';
import type { Outcome } from '../auth/decision.js';
import type { Problem } from '../http/problem.js';
import { PROBLEMS } from '../http/problems.js';
import type { Identity } from '../auth/authorize.js';
import type { TokenSource } from '../auth/token-sources.js';
import type { TokenBudget } from '../limits/token-budget.js';
import { NO_TRACE, type ExchangeTrace } from '../tracing/tracing.js';
import { rateLimitField } from '../limits/ratelimit-fields.js';
import type { CredentialLabel, EndReason, LiveProtocol, RightLabel } from '../metrics/metrics.js';
import { verifiedPeerCertificate } from './peer-certificate.js';
import type { LiveExchange } from './live-exchanges.js';
import { GRPC_PERMISSION_DENIED, GRPC_RESOURCE_EXHAUSTED, GRPC_UNAUTHENTICATED, GRPC_UNAVAILABLE, grpcMessage, grpcStatusFor } from './grpc-status.js';
import { http2ResponseHeaders, http2Trailers, relayedHeaders, type StreamHead } from './http2-headers.js';
import { IDEMPOTENT, type Framing, type UpstreamConnection, type UpstreamUser } from './upstream-connection.js';
import { classifyUpstreamError, type UpstreamFailure } from './upstream-errors.js';

/** Where a stream exchange reports its end (metrics, access log). */
export interface StreamSink {
  finished(exchange: StreamExchange, outcome: Outcome, status: number): void;
  abandoned(exchange: StreamExchange): void;
  upstreamFailed(reason: UpstreamFailure['reason']): void;
  /** Tollgate ended an open exchange itself (exchanges_ended_total). */
  exchangeCut?(reason: EndReason): void;
  /** The injected clock, for the token's limits. */
  now(): number;
}

const EMPTY_TRAILERS: OutgoingHttpHeaders = Object.freeze(Object.create(null) as OutgoingHttpHeaders);

type Phase = 'deciding' | 'forwarding' | 'done';

/**
 * One HTTP/2 stream: a request judged by the same decision step as an HTTP/1.1 exchange, then
 * relayed to the HTTP/1.1 upstream (as an UpstreamUser of the same keep-alive pool) or, for a
 * gRPC call, to the gRPC upstream as a stream of its own. Bodies flow with backpressure both
 * ways: the client stream is not read until the upstream can take it (HTTP/2 flow control then
 * holds the client back), and the upstream is paused while the client stream's buffer is full.
 */
export class StreamExchange implements Judged, UpstreamUser, LiveExchange {
  readonly started = performance.now();
  requestId = '';
  path = '';
  right: RightLabel = 'none';
  credential: CredentialLabel = 'none';
  identity: ForwardIdentity | undefined = undefined;
  tokenSource: TokenSource | undefined = undefined;
  token: Identity | undefined = undefined;
  /** The token's limits, when it has any: body bytes are spent there; its slot goes back at the end. */
  limited: TokenBudget | undefined = undefined;
  /** TRACING: this exchange's spans (docs/tracing.md); the shared no-op while tracing is off. */
  trace: ExchangeTrace = NO_TRACE;
  /** Set by the decision step: the route pattern matched, for the span. */
  route: string | undefined = undefined;
  requestBytes = 0;
  responseBytes = 0;
  upstreamSeconds = 0;
  status = 0;
  /** The gRPC status the call ended with, when it is one and it is known. */
  grpcStatus: number | undefined;
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly authority: string | undefined;
  readonly requestIdHeader: string | undefined;
  readonly isGrpc: boolean;
  readonly expectsContinue: boolean;
  /** Set by the front before dispatch: the HTTP/1.1 head the upstream gets. */
  requestHead = '';
  /** How the request body is framed to an HTTP/1.1 upstream. */
  readonly body: 'none' | 'length' | 'chunked';

  private phase: Phase = 'deciding';
  private upstream: UpstreamConnection | undefined;
  private call: ClientHttp2Stream | undefined;
  private upstreamAt = 0;
  private retried = false;
  /** The upstream call's response ended whole (its trailers are in `trailers`). */
  private callEnded = false;
  private trailers: OutgoingHttpHeaders | undefined;

  constructor(
    readonly stream: ServerHttp2Stream,
    head: StreamHead,
    private readonly sink: StreamSink,
  ) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.authority = head.authority;
    this.requestIdHeader = head.requestIdHeader;
    this.isGrpc = head.isGrpc;
    this.expectsContinue = head.expectsContinue;
    this.body = stream.endAfterHeaders ? 'none' : head.hasContentLength ? 'length' : 'chunked';
    stream.on('error', () => {}); // a reset stream is an ordinary end, seen in 'close'
    stream.on('close', () => this.closed());
    stream.on('drain', () => (this.call !== undefined ? this.call.resume() : this.upstream?.resumeReading()));
  }

  get isDone(): boolean {
    return this.phase === 'done';
  }

  /** LiveExchange: the `live_exchanges` label. */
  get liveProtocol(): LiveProtocol {
    return this.isGrpc ? 'grpc' : 'http';
  }

  /** The stream slot the token's limits hold for this exchange goes back, once. */
  releaseLimits(): void {
    const limited = this.limited;
    if (limited === undefined) return;
    this.limited = undefined;
    limited.streamEnded();
  }

  /** Body bytes either way count against a byte quota; one that runs out ends the exchange. */
  private spend(bytes: number): void {
    if (this.limited !== undefined && !this.limited.spendBytes(bytes, this.sink.now())) this.end('quota');
  }

  /** The RateLimit fields every response to a limited token carries. */
  private rateLimitFields(): Record<string, string> | undefined {
    const limited = this.limited;
    return limited === undefined ? undefined : { 'ratelimit-policy': limited.policy, ratelimit: rateLimitField(limited, this.sink.now()) };
  }

  /** `https` when the client connection is TLS. */
  get protocol(): string {
    return this.stream.session?.encrypted ? 'https' : 'http';
  }

  get remoteAddress(): string | undefined {
    return this.stream.session?.socket?.remoteAddress;
  }

  /** Judged: read only when no bearer came and client certificates are asked for. */
  get clientCertificate(): PeerCertificate | undefined {
    const socket = this.stream.session?.socket;
    return socket === undefined ? undefined : verifiedPeerCertificate(socket);
  }

  userAgent(): string | undefined {
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (raw[i] === 'user-agent') return raw[i + 1];
    return undefined;
  }

  get isHead(): boolean {
    return this.method === 'HEAD';
  }

  retryOnce(): boolean {
    if (this.retried || this.body !== 'none' || !IDEMPOTENT.has(this.method)) return false;
    this.retried = true;
    return true;
  }

  // Refusals.

  /** Answers with a problem: problem+json, or for a gRPC call a trailers-only response. */
  refused(problem: Problem, headers: Readonly<Record<string, string>> | undefined): void {
    this.phase = 'done';
    this.status = problem.status;
    if (this.isGrpc) return this.trailersOnly(grpcStatusFor(problem.status), problem.detail ? `${problem.title}: ${problem.detail}` : problem.title, headers);
    const stream = this.stream;
    if (stream.destroyed || stream.headersSent) return;
    const body = JSON.stringify({ ...problem, requestId: this.requestId });
    const out = Object.create(null) as OutgoingHttpHeaders;
    out[':status'] = problem.status;
    out['content-type'] = 'application/problem+json';
    out['content-length'] = Buffer.byteLength(body);
    out['cache-control'] = 'no-store';
    out['x-request-id'] = this.requestId;
    if (headers !== undefined) for (const name in headers) out[name] = headers[name];
    stream.respond(out);
    stream.end(body);
    this.stopUpload();
  }

  /**
   * After a complete answer to a request whose body is still coming (a refused upload): RST_STREAM
   * with NO_ERROR asks the client to stop sending (RFC 9113 §8.1) instead of leaving the stream
   * open until its flow-control window fills.
   */
  private stopUpload(): void {
    const stream = this.stream;
    if (this.body !== 'none' && !stream.readableEnded && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
  }

  /** gRPC's trailers-only response (PROTOCOL-HTTP2.md): HTTP 200 and the status in one HEADERS frame. */
  private trailersOnly(code: number, message: string, headers: Readonly<Record<string, string>> | undefined): void {
    this.grpcStatus = code;
    const stream = this.stream;
    if (stream.destroyed) return;
    if (stream.headersSent) return void stream.close(constants.NGHTTP2_CANCEL);
    const out = Object.create(null) as OutgoingHttpHeaders;
    out[':status'] = 200;
    out['content-type'] = 'application/grpc';
    out['grpc-status'] = String(code);
    out['grpc-message'] = grpcMessage(message);
    out['x-request-id'] = this.requestId;
    if (headers !== undefined) for (const name in headers) out[name] = headers[name];
    stream.respond(out, { endStream: true });
    this.stopUpload();
  }

  /**
   * Ends an exchange whose token no longer allows it. A gRPC call gets its status (16 for a
   * revoked or expired token, 7 for lost rights, 8 for a spent quota) in trailers, or
   * trailers-only before its response began; any other stream is reset with CANCEL. The upstream
   * side is aborted in every case. Returns false when the exchange had ended already.
   */
  end(reason: EndReason): boolean {
    if (this.phase === 'done') return false;
    this.sink.exchangeCut?.(reason);
    const code = reason === 'rights' ? GRPC_PERMISSION_DENIED : reason === 'quota' ? GRPC_RESOURCE_EXHAUSTED : GRPC_UNAUTHENTICATED;
    const message = reason === 'rights' ? 'token no longer holds this right' : reason === 'quota' ? 'token quota spent' : `token ${reason}`;
    const stream = this.stream;
    this.abortUpstream();
    if (this.isGrpc && !stream.destroyed && !stream.headersSent) {
      this.phase = 'done';
      this.trailersOnly(code, message, undefined);
      this.sink.finished(this, 'forbidden', 200);
      return true;
    }
    if (this.isGrpc && !stream.destroyed && !stream.writableEnded && this.trailers === undefined && stream.listenerCount('wantTrailers') > 0) {
      // The response began with waitForTrailers: end it with the status instead of the upstream's.
      this.phase = 'done';
      this.grpcStatus = code;
      this.trailers = relayedHeaders({}, { 'grpc-status': String(code), 'grpc-message': grpcMessage(message) });
      stream.end();
      this.sink.finished(this, 'forbidden', this.status);
      return true;
    }
    this.phase = 'done';
    if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    this.sink.finished(this, 'forbidden', this.status || 499);
    return true;
  }

  private closed(): void {
    if (this.phase === 'done') return;
    // The client reset the stream (or its connection went) before the response ended.
    const wasForwarding = this.phase === 'forwarding';
    this.phase = 'done';
    this.abortUpstream();
    if (wasForwarding) this.sink.finished(this, 'upstream_error', 499);
    else this.sink.abandoned(this);
  }

  private abortUpstream(): void {
    this.upstream?.abort();
    this.upstream = undefined;
    const call = this.call;
    this.call = undefined;
    if (call !== undefined && !call.destroyed) call.close(constants.NGHTTP2_CANCEL);
  }

  // Forwarding to the HTTP/1.1 upstream (UpstreamUser).

  /** Before dispatch: from here a client reset counts as a forwarded exchange cut short. */
  forwarded(): void {
    this.phase = 'forwarding';
    // Only now, after the token check, as on HTTP/1.1: a refused upload never sends its body.
    if (this.expectsContinue && this.body !== 'none' && !this.stream.destroyed) this.stream.additionalHeaders({ ':status': 100 });
  }

  upstreamStarted(connection: UpstreamConnection): void {
    if (this.phase === 'done') return connection.abort();
    this.upstream = connection;
    this.upstreamAt = performance.now();
    connection.write(this.requestHead);
    if (this.body === 'none') return connection.requestSent(performance.now());
    // Read the client stream only now: until here HTTP/2 flow control has held its body back.
    const chunked = this.body === 'chunked';
    const stream = this.stream;
    stream.on('data', (data: Buffer) => {
      this.requestBytes += data.length;
      this.spend(data.length);
      const upstream = this.upstream;
      if (upstream !== undefined && !(chunked ? upstream.writeChunk(data) : upstream.write(data))) stream.pause();
    });
    stream.on('end', () => {
      const upstream = this.upstream;
      if (upstream === undefined) return;
      if (chunked) upstream.write('0\r\n\r\n');
      upstream.requestSent(performance.now());
    });
  }

  upstreamDrained(): void {
    if (this.phase === 'forwarding') this.stream.resume();
  }

  responseHead(status: number, _reason: string, rawHeaders: string[], _framing: Framing): void {
    if (this.phase === 'done') return;
    this.upstreamSeconds = (performance.now() - this.upstreamAt) / 1000;
    this.status = status;
    const stream = this.stream;
    if (stream.destroyed) return;
    // The body ends with a trailers step even when there are none: Node's close(code) on a stream
    // whose writable side is open sends END_STREAM before RST_STREAM, so a response cut mid-body
    // (upstream failure, revocation) would reach the client as complete. With waitForTrailers
    // the end waits for sendTrailers, and a reset before it is seen as a reset.
    try {
      const head = http2ResponseHeaders(status, rawHeaders, this.requestId);
      const limits = this.rateLimitFields();
      if (limits !== undefined) Object.assign(head, limits);
      stream.respond(head, { waitForTrailers: true });
    } catch {
      // A field HTTP/2 forbids that HTTP/1.1 allows (node:http2 throws on it): the upstream's
      // answer cannot be passed on, so the client gets the 502 of a broken upstream answer.
      this.upstream?.abort();
      this.upstream = undefined;
      this.sink.upstreamFailed('other');
      return this.failed({ ...PROBLEMS.upstream_error, reason: 'other' });
    }
    stream.once('wantTrailers', () => this.sendTrailers());
  }

  /** The end of a relayed HTTP/1.1 response; trailers node:http2 refuses cut the stream instead. */
  private sendTrailers(): void {
    try {
      this.stream.sendTrailers(this.trailers ?? EMPTY_TRAILERS);
    } catch {
      this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    }
  }

  responseData(chunk: Buffer): boolean {
    if (this.phase === 'done') return true;
    this.responseBytes += chunk.length;
    this.spend(chunk.length);
    if (this.isDone) return true; // the quota ran out on this chunk
    // An HTTP/2 stream queues what it is given until its DATA frames go out, and the upstream's
    // read buffer is reused for its next read: the stream gets a copy of its own size.
    if (!this.stream.write(Buffer.from(chunk))) this.upstream?.pause();
    return true;
  }

  responseEnd(trailers: string[] | undefined): void {
    if (this.phase === 'done') return;
    // A chunked body's trailer fields travel on as HTTP/2 trailers (RFC 9113 §8.1).
    if (trailers !== undefined && trailers.length > 0) this.trailers = http2Trailers(trailers);
    this.upstream = undefined;
    this.phase = 'done';
    if (!this.stream.destroyed) this.stream.end();
    this.sink.finished(this, 'allowed', this.status);
  }

  upstreamFailed(err: Error): void {
    if (this.phase === 'done') return;
    this.upstream = undefined;
    const failure = classifyUpstreamError(err);
    this.sink.upstreamFailed(failure.reason);
    this.failed(failure);
  }

  private failed(failure: UpstreamFailure): void {
    this.phase = 'done';
    const stream = this.stream;
    if (stream.headersSent) {
      // Mid-body: the status is gone, so the stream is reset to show the response is incomplete.
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      this.sink.finished(this, 'upstream_error', this.status);
      return;
    }
    const problem: Problem = { status: failure.status, type: failure.type, title: failure.title, detail: 'The request was authorized but the upstream did not answer it.' };
    this.refused(problem, undefined);
    this.sink.finished(this, 'upstream_error', failure.status);
  }

  // Forwarding a gRPC call to the gRPC upstream.

  /** Relays the call on `call` (an upstream stream opened with this call's headers). */
  relayCall(call: ClientHttp2Stream): void {
    if (this.phase === 'done') return void call.close(constants.NGHTTP2_CANCEL);
    this.call = call;
    this.upstreamAt = performance.now();
    const stream = this.stream;
    call.on('error', () => {}); // reported through 'close' and its rstCode
    // Request messages: pipe() honours write() returning false on the upstream stream, so a fast
    // client is held back by HTTP/2 flow control rather than buffered here.
    stream.on('data', (data: Buffer) => {
      this.requestBytes += data.length;
      this.spend(data.length);
    });
    stream.pipe(call);
    call.on('response', (headers: IncomingHttpHeaders, flags: number) => this.callResponse(headers, flags));
    call.on('trailers', (trailers: IncomingHttpHeaders) => {
      this.grpcStatus = Number(trailers['grpc-status']);
      this.trailers = relayedHeaders(trailers);
    });
    call.on('data', (data: Buffer) => {
      this.responseBytes += data.length;
      this.spend(data.length);
      if (this.isDone) return;
      if (!stream.destroyed && !stream.write(data)) call.pause();
    });
    call.on('end', () => {
      this.callEnded = true;
      if (this.phase !== 'done' && !stream.destroyed && !stream.writableEnded) stream.end();
    });
    call.on('close', () => this.callClosed(call));
  }

  private callResponse(headers: IncomingHttpHeaders, flags: number): void {
    if (this.phase === 'done' || this.stream.destroyed) return;
    this.upstreamSeconds = (performance.now() - this.upstreamAt) / 1000;
    this.status = Number(headers[':status']) || 200;
    const out = relayedHeaders(headers, { ':status': this.status, 'x-request-id': this.requestId, ...this.rateLimitFields() });
    if ((flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
      // Trailers-only from the upstream (an error before any message): passed on as it came.
      this.grpcStatus = Number(headers['grpc-status']);
      this.stream.respond(out, { endStream: true });
      this.phase = 'done';
      this.call = undefined;
      this.sink.finished(this, 'allowed', this.status);
      return;
    }
    this.stream.respond(out, { waitForTrailers: true });
    this.stream.once('wantTrailers', () => {
      // An upstream that ended without trailers broke the protocol: the client learns it as 13 INTERNAL.
      this.stream.sendTrailers(this.trailers ?? { 'grpc-status': '13', 'grpc-message': 'upstream sent no trailers' });
    });
  }

  private callClosed(call: ClientHttp2Stream): void {
    if (this.call !== call) return; // cancelled by us
    this.call = undefined;
    if (this.phase === 'done') return;
    const stream = this.stream;
    const rst = call.rstCode ?? constants.NGHTTP2_NO_ERROR;
    if (rst === constants.NGHTTP2_NO_ERROR && this.callEnded) {
      this.phase = 'done';
      this.sink.finished(this, 'allowed', this.status);
      return;
    }
    // The upstream reset the call, or never answered (refused, gone): 14 UNAVAILABLE when nothing
    // was sent yet, else the client's stream is reset with the upstream's code.
    this.sink.upstreamFailed(call.sentHeaders === undefined || this.status === 0 ? 'refused' : 'reset');
    if (!stream.headersSent) {
      this.status = 502;
      this.phase = 'done';
      this.trailersOnly(GRPC_UNAVAILABLE, 'upstream unavailable', undefined);
      this.sink.finished(this, 'upstream_error', 502);
      return;
    }
    this.phase = 'done';
    if (!stream.destroyed) stream.close(rst === constants.NGHTTP2_NO_ERROR ? constants.NGHTTP2_INTERNAL_ERROR : rst);
    this.sink.finished(this, 'upstream_error', this.status);
  }
}
