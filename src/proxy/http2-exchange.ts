import { type ClientHttp2Stream, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { PeerCertificate } from 'node:tls';
import type { Judged } from '../auth/decide.js';
import type { Refused } from '../auth/verdict.js';
import { ExchangeCore, type ExchangeLedger } from '../exchange/core.js';
import type { EndReason, LiveProtocol } from '../exchange/endings.js';
import type { Problem } from '../http/problem.js';
import type { HeadSpans } from '../http1/head-spans.js';
import { rateLimitField } from '../limits/ratelimit-fields.js';
import { GRPC_PERMISSION_DENIED, GRPC_RESOURCE_EXHAUSTED, GRPC_UNAUTHENTICATED, GRPC_UNAVAILABLE, grpcMessage, grpcStatusFor } from './grpc-status.js';
import { http2ResponseHeaders, http2ResponseHeadersOf, http2Trailers, relayedHeaderList, relayedHeaders, type StreamHead } from './http2-headers.js';
import { verifiedPeerCertificate } from './peer-certificate.js';
import { type Framing, IDEMPOTENT, type UpstreamConnection, type UpstreamUser } from './upstream-connection.js';
import { UpstreamFault } from './upstream-fault.js';

const EMPTY_TRAILERS: OutgoingHttpHeaders = Object.freeze(Object.create(null) as OutgoingHttpHeaders);

/** The 'error' listener of streams whose errors are seen where they end ('close', rstCode). */
const ignore = (): void => {};

type Phase = 'deciding' | 'forwarding';

/** What the streams of one client connection read of it: the same for each, so read once per connection. */
export interface ClientPeer {
  readonly remoteAddress: string | undefined;
  /** `https` when the client connection is TLS. */
  readonly protocol: 'http' | 'https';
}

/**
 * One HTTP/2 stream: a request judged by the same decision step as an HTTP/1.1 exchange, then
 * relayed to the HTTP/1.1 upstream (as an UpstreamUser of the same keep-alive pool) or, for a
 * gRPC call, to the gRPC upstream as a stream of its own. Bodies flow with backpressure both
 * ways: the client stream is not read until the upstream can take it (HTTP/2 flow control then
 * holds the client back), and the upstream is paused while the client stream's buffer is full.
 */
export class StreamExchange extends ExchangeCore implements Judged, UpstreamUser {
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
  /** A 'drain' listener waits on the client stream (added only when a write found it full). */
  private isAwaitingDrain = false;
  /**
   * The HTTP/1.1 upstream's response head as HTTP/2 fields, held until the end of the upstream
   * read that brought it, with the body bytes that came in that read: a response whose head,
   * body and end arrive together ends the stream with its last DATA frame, without the trailers
   * step a response still flowing needs (see `respondFlowing`; node:http2 sends empty trailers
   * as one more, empty, DATA frame, after a 'wantTrailers' event).
   */
  private heldHead: string[] | undefined;
  private heldBody: Buffer[] | undefined;

  constructor(
    readonly stream: ServerHttp2Stream,
    head: StreamHead,
    ledger: ExchangeLedger,
    private readonly peer: ClientPeer,
  ) {
    super(ledger);
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.authority = head.authority;
    this.requestIdHeader = head.requestIdHeader;
    this.isGrpc = head.isGrpc;
    this.expectsContinue = head.expectsContinue;
    this.body = stream.endAfterHeaders ? 'none' : head.hasContentLength ? 'length' : 'chunked';
    stream.on('error', ignore); // a reset stream is an ordinary end, seen in 'close'
    stream.on('close', () => this.closed());
  }

  /** The span's protocol. */
  get tracedProtocol(): 'grpc' | 'h2' {
    return this.isGrpc ? 'grpc' : 'h2';
  }

  /** The access log's `protocol` field. */
  get logProtocol(): 'h2' | 'grpc' {
    return this.isGrpc ? 'grpc' : 'h2';
  }

  /** LiveExchange: the `live_exchanges` label. */
  get liveProtocol(): LiveProtocol {
    return this.isGrpc ? 'grpc' : 'http';
  }

  /** The client stream's buffer is full and the upstream was paused: it resumes once the stream drains. */
  private awaitClientDrain(): void {
    if (this.isAwaitingDrain) return;
    this.isAwaitingDrain = true;
    this.stream.once('drain', () => {
      this.isAwaitingDrain = false;
      if (this.call !== undefined) this.call.resume();
      else this.upstream?.resumeReading();
    });
  }

  /** Body bytes either way count against a byte quota; one that runs out ends the exchange. */
  private spendOrEnd(bytes: number): void {
    if (!this.spend(bytes)) this.end('quota');
  }

  /** The RateLimit fields every response to a limited token carries, as a flat name/value list. */
  private rateLimitList(): string[] | undefined {
    const limited = this.limited;
    return limited === undefined ? undefined : ['ratelimit-policy', limited.policy, 'ratelimit', rateLimitField(limited, this.ledger.now())];
  }

  /** `https` when the client connection is TLS. */
  get protocol(): string {
    return this.peer.protocol;
  }

  get remoteAddress(): string | undefined {
    return this.peer.remoteAddress;
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

  /** Answers the verdict's refusal and ends. */
  refused(verdict: Refused): void {
    this.right = verdict.right;
    this.answerProblem(verdict.problem, verdict.headers);
    this.finish('refused', verdict.outcome, verdict.status, verdict.reason);
  }

  /** Allowed, but nothing can carry it (no gRPC upstream is configured): the problem, as an upstream that refused. */
  unreachable(problem: Readonly<Problem>): void {
    this.ledger.upstreamFailed('refused');
    this.answerProblem(problem, undefined);
    this.finish('forwarded', 'upstream_error', problem.status);
  }

  /** Allowed, but its fields cannot be sent on as they came: the problem (a 400), as a refused request. */
  malformed(problem: Readonly<Problem>): void {
    this.answerProblem(problem, undefined);
    this.finish('refused', 'forbidden', problem.status);
  }

  /** Answers with a problem: problem+json, or for a gRPC call a trailers-only response. */
  private answerProblem(problem: Readonly<Problem>, headers: Readonly<Record<string, string>> | undefined): void {
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
    if (this.isDone) return false;
    this.ledger.exchangeCut(reason);
    const code = reason === 'rights' ? GRPC_PERMISSION_DENIED : reason === 'quota' ? GRPC_RESOURCE_EXHAUSTED : GRPC_UNAUTHENTICATED;
    const message = reason === 'rights' ? 'token no longer holds this right' : reason === 'quota' ? 'token quota spent' : `token ${reason}`;
    const stream = this.stream;
    this.abortUpstream();
    if (this.isGrpc && !stream.destroyed && !stream.headersSent) {
      this.trailersOnly(code, message, undefined);
      this.finish('forwarded', 'forbidden', 200);
      return true;
    }
    if (this.isGrpc && !stream.destroyed && !stream.writableEnded && this.trailers === undefined && stream.listenerCount('wantTrailers') > 0) {
      // The response began with waitForTrailers: end it with the status instead of the upstream's.
      this.grpcStatus = code;
      this.trailers = relayedHeaders({}, { 'grpc-status': String(code), 'grpc-message': grpcMessage(message) });
      this.finish('forwarded', 'forbidden', this.status);
      stream.end();
      return true;
    }
    this.finish('forwarded', 'forbidden', this.status || 499);
    if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    return true;
  }

  private closed(): void {
    if (this.isDone) return;
    // The client reset the stream (or its connection went) before the response ended.
    this.abortUpstream();
    this.finish(this.phase === 'forwarding' ? 'forwarded' : 'abandoned', 'upstream_error', 499);
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
    if (this.isDone) return connection.abort();
    this.upstream = connection;
    this.upstreamAt = performance.now();
    connection.write(this.requestHead);
    if (this.body === 'none') return connection.requestSent(performance.now());
    // Read the client stream only now: until here HTTP/2 flow control has held its body back.
    const chunked = this.body === 'chunked';
    const stream = this.stream;
    stream.on('data', (data: Buffer) => {
      this.requestBytes += data.length;
      this.spendOrEnd(data.length);
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
    if (!this.isDone) this.stream.resume();
  }

  responseHead(status: number, _reason: string, rawHeaders: string[], _framing: Framing, now = performance.now()): void {
    if (this.isDone) return;
    this.upstreamSeconds = (now - this.upstreamAt) / 1000;
    this.status = status;
    if (this.stream.destroyed) return;
    this.heldHead = http2ResponseHeaders(status, rawHeaders, this.requestId, this.rateLimitList());
  }

  /**
   * UpstreamUser: the response head from the bytes of the read that carried it, the same list
   * `responseHead` makes without a string per field name first. Declined (the strings then come
   * through `responseHead`) for a Connection that names fields.
   */
  responseHeadSpans(status: number, spans: HeadSpans, _noBody: boolean, now: number): boolean {
    if (this.isDone) return true;
    if (this.stream.destroyed) {
      this.upstreamSeconds = (now - this.upstreamAt) / 1000;
      this.status = status;
      return true;
    }
    const head = http2ResponseHeadersOf(status, spans, this.requestId, this.rateLimitList());
    if (head === undefined) return false;
    this.upstreamSeconds = (now - this.upstreamAt) / 1000;
    this.status = status;
    this.heldHead = head;
    return true;
  }

  /** UpstreamUser: the upstream read is parsed and the response goes on: what was held goes, flowing. */
  readParsed(): void {
    if (this.heldHead !== undefined) this.respondFlowing();
  }

  /**
   * Sends the held head for a response still flowing, then the body bytes held with it. The
   * body ends with a trailers step even when there are none: Node's close(code) on a stream
   * whose writable side is open sends END_STREAM before RST_STREAM, so a response cut mid-body
   * (upstream failure, revocation) would reach the client as complete. With waitForTrailers the
   * end waits for sendTrailers, and a reset before it is seen as a reset.
   */
  private respondFlowing(): void {
    const head = this.heldHead!;
    const body = this.heldBody;
    this.heldHead = undefined;
    this.heldBody = undefined;
    if (this.isDone || this.stream.destroyed) return;
    if (!this.respond(head, { waitForTrailers: true })) return;
    this.stream.once('wantTrailers', () => this.sendTrailers());
    if (body !== undefined) for (const data of body) this.writeResponse(data);
  }

  /** `stream.respond`, or the 502 of a broken upstream answer when node:http2 refuses a field; false then. */
  private respond(head: string[], options: { waitForTrailers?: boolean; endStream?: boolean }): boolean {
    try {
      this.stream.respond(head, options);
      return true;
    } catch {
      // A field HTTP/2 forbids that HTTP/1.1 allows (node:http2 throws on it): the upstream's
      // answer cannot be passed on, so the client gets the 502 of a broken upstream answer.
      this.upstream?.abort();
      this.upstream = undefined;
      this.ledger.upstreamFailed('other');
      this.failed(new UpstreamFault('other', false, 'upstream response carries a field HTTP/2 forbids'));
      return false;
    }
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
    if (this.isDone) return true;
    this.responseBytes += chunk.length;
    this.spendOrEnd(chunk.length);
    if (this.isDone) return true; // the quota ran out on this chunk
    // An HTTP/2 stream queues what it is given until its DATA frames go out, and the upstream's
    // read buffer is reused for its next read: the stream gets a copy of its own size.
    const data = Buffer.from(chunk);
    if (this.heldHead !== undefined) {
      this.heldBody ??= [];
      this.heldBody.push(data);
      return true;
    }
    this.writeResponse(data);
    return true;
  }

  private writeResponse(data: Buffer): void {
    if (!this.stream.destroyed && !this.stream.write(data)) {
      this.upstream?.pause();
      this.awaitClientDrain();
    }
  }

  responseEnd(trailers: string[] | undefined): void {
    if (this.isDone) return;
    // A chunked body's trailer fields travel on as HTTP/2 trailers (RFC 9113 §8.1).
    if (trailers !== undefined && trailers.length > 0) this.trailers = http2Trailers(trailers);
    this.upstream = undefined;
    if (this.heldHead !== undefined) {
      if (this.trailers !== undefined) this.respondFlowing();
      else if (!this.respondWhole()) return;
    }
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
    this.finish('forwarded', 'allowed', this.status);
  }

  /** The whole response came in one upstream read: head and body end the stream themselves. */
  private respondWhole(): boolean {
    const head = this.heldHead!;
    const body = this.heldBody;
    this.heldHead = undefined;
    this.heldBody = undefined;
    if (this.stream.destroyed) return true;
    if (!this.respond(head, { endStream: body === undefined })) return false;
    if (body === undefined) return true;
    // The last piece ends the stream itself: one write less than write() then end().
    const last = body.length - 1;
    for (let i = 0; i < last; i++) this.stream.write(body[i]);
    this.stream.end(body[last]);
    return true;
  }

  upstreamFailed(failure: UpstreamFault): void {
    if (this.isDone) return;
    this.upstream = undefined;
    this.ledger.upstreamFailed(failure.reason);
    this.failed(failure);
  }

  private failed(failure: UpstreamFault): void {
    const stream = this.stream;
    // A head still held counts as sent, as on HTTP/1.1: the response had begun.
    const begun = this.heldHead !== undefined;
    this.heldHead = undefined;
    this.heldBody = undefined;
    if (stream.headersSent || begun) {
      // Mid-body: the status is gone, so the stream is reset to show the response is incomplete.
      this.finish('forwarded', 'upstream_error', this.status);
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const problem: Problem = {
      status: failure.status,
      type: failure.type,
      title: failure.title,
      detail: 'The request was authorized but the upstream did not answer it.',
    };
    this.answerProblem(problem, undefined);
    this.finish('forwarded', 'upstream_error', failure.status);
  }

  // Forwarding a gRPC call to the gRPC upstream.

  /** Relays the call on `call` (an upstream stream opened with this call's headers). */
  relayCall(call: ClientHttp2Stream): void {
    if (this.isDone) return void call.close(constants.NGHTTP2_CANCEL);
    this.call = call;
    this.upstreamAt = performance.now();
    call.on('error', ignore); // reported through 'close' and its rstCode
    // Request messages go on as they come. A call that cannot take more pauses the client stream,
    // so a fast client is held back by HTTP/2 flow control rather than buffered here.
    const stream = this.stream;
    stream.on('data', (data: Buffer) => this.callRequestData(data));
    stream.on('end', () => this.call?.end());
    call.on('response', (headers: IncomingHttpHeaders, flags: number) => this.callResponse(headers, flags));
    call.on('trailers', (trailers: IncomingHttpHeaders) => {
      this.grpcStatus = Number(trailers['grpc-status']);
      this.trailers = relayedHeaders(trailers);
    });
    call.on('data', (data: Buffer) => this.callResponseData(data));
    call.on('end', () => {
      this.callEnded = true;
      if (!this.isDone && !stream.destroyed && !stream.writableEnded) stream.end();
    });
    call.on('close', () => this.callClosed(call));
  }

  private callRequestData(data: Buffer): void {
    this.requestBytes += data.length;
    this.spendOrEnd(data.length);
    const call = this.call;
    if (call === undefined || call.write(data)) return;
    this.stream.pause();
    if (call.listenerCount('drain') === 0) call.once('drain', () => this.stream.resume());
  }

  private callResponseData(data: Buffer): void {
    this.responseBytes += data.length;
    this.spendOrEnd(data.length);
    if (this.isDone) return;
    const stream = this.stream;
    if (!stream.destroyed && !stream.write(data)) {
      this.call?.pause();
      this.awaitClientDrain();
    }
  }

  private callResponse(headers: IncomingHttpHeaders, flags: number): void {
    if (this.isDone || this.stream.destroyed) return;
    this.upstreamSeconds = (performance.now() - this.upstreamAt) / 1000;
    this.status = Number(headers[':status']) || 200;
    const out = relayedHeaderList(headers, this.status, this.requestId, this.rateLimitList());
    if ((flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
      // Trailers-only from the upstream (an error before any message): passed on as it came.
      this.grpcStatus = Number(headers['grpc-status']);
      this.call = undefined;
      this.finish('forwarded', 'allowed', this.status);
      this.stream.respond(out, { endStream: true });
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
    if (this.isDone) return;
    const stream = this.stream;
    const rst = call.rstCode ?? constants.NGHTTP2_NO_ERROR;
    if (rst === constants.NGHTTP2_NO_ERROR && this.callEnded) {
      this.finish('forwarded', 'allowed', this.status);
      return;
    }
    // The upstream reset the call, or never answered (refused, gone): 14 UNAVAILABLE when nothing
    // was sent yet, else the client's stream is reset with the upstream's code.
    this.ledger.upstreamFailed(call.sentHeaders === undefined || this.status === 0 ? 'refused' : 'reset');
    if (!stream.headersSent) {
      this.status = 502;
      this.trailersOnly(GRPC_UNAVAILABLE, 'upstream unavailable', undefined);
      this.finish('forwarded', 'upstream_error', 502);
      return;
    }
    this.finish('forwarded', 'upstream_error', this.status);
    if (!stream.destroyed) stream.close(rst === constants.NGHTTP2_NO_ERROR ? constants.NGHTTP2_INTERNAL_ERROR : rst);
  }
}
