import type { ForwardIdentity, Judged } from '../auth/decide.js';
import type { Outcome } from '../auth/decision.js';
import type { UseSource } from '../auth/last-used.js';
import type { Problem } from '../http/problem.js';
import type { RightLabel } from '../metrics/metrics.js';
import type { ClientConnection } from './client-connection.js';
import { dateHeaderLine, problemResponse, statusLine } from './heads.js';
import { downstreamHeaderLines } from './headers.js';
import type { Framing, UpstreamConnection, UpstreamUser } from './upstream-connection.js';
import { classifyUpstreamError, type UpstreamFailure } from './upstream-errors.js';

/** Where an exchange reports its end (metrics, access log) and asks the clock. */
export interface ExchangeSink {
  /** True once shutdown began: the connection closes after this response. */
  readonly draining: boolean;
  now(): number;
  finished(exchange: Exchange, outcome: Outcome, status: number): void;
  abandoned(exchange: Exchange): void;
  upstreamFailed(reason: UpstreamFailure['reason']): void;
}

/** Methods whose request may be sent twice (RFC 9110 §9.2.2), when it has no body. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

type Phase = 'deciding' | 'waiting' | 'forwarding' | 'done';

/** What the client connection parsed from a request head, in one pass over its fields. */
export interface RequestHead {
  method: string;
  /** The request target as it came (for the access log, redacted there). */
  url: string;
  rawHeaders: string[];
  httpMinor: number;
  /** Whether the connection may carry another request after this one. */
  keepAlive: boolean;
  /** `chunked`, `length` (non-zero Content-Length) or `none`. */
  body: 'chunked' | 'length' | 'none';
  /** What the Expect field asked for, if anything. */
  expectation: 'none' | 'continue' | 'unsupported';
  /** The first value of each field the pipeline reads by name; undefined when absent. */
  host: string | undefined;
  connectionHeader: string | undefined;
  requestIdHeader: string | undefined;
}

/**
 * One request and its response: the object the whole request path works on. The client
 * connection fills in what it parsed; the server's pipeline (parse -> authenticate -> route ->
 * authorize -> forward) sets who and what; the exchange then relays the bodies both ways with
 * backpressure, re-framing chunked bodies from what llhttp validated, and ends exactly once.
 */
export class Exchange implements UpstreamUser, UseSource, Judged {
  readonly started = performance.now();
  /** Set by the pipeline. */
  requestId = '';
  path = '';
  right: RightLabel = 'none';
  identity: ForwardIdentity | undefined = undefined;
  /** Whether the client connection may carry another request after this one. */
  keepAlive: boolean;
  requestBytes = 0;
  responseBytes = 0;
  upstreamSeconds = 0;
  status = 0;
  requestComplete = false;
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpMinor: number;
  readonly body: RequestHead['body'];
  readonly expectation: RequestHead['expectation'];
  readonly host: string | undefined;
  readonly connectionHeader: string | undefined;
  readonly requestIdHeader: string | undefined;

  private phase: Phase = 'deciding';
  private upstream: UpstreamConnection | undefined;
  private queued: Buffer[] | undefined;
  private upstreamAt = 0;
  private headSent = false;
  private chunkedOut = false;
  private retried = false;

  constructor(
    readonly connection: ClientConnection,
    head: RequestHead,
    private readonly sink: ExchangeSink,
  ) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.httpMinor = head.httpMinor;
    this.keepAlive = head.keepAlive;
    this.body = head.body;
    this.expectation = head.expectation;
    this.host = head.host;
    this.connectionHeader = head.connectionHeader;
    this.requestIdHeader = head.requestIdHeader;
    // No body: the request is whole with its head, even before llhttp reports its end.
    this.requestComplete = head.body === 'none';
  }

  /** UseSource (lastUsedAt): read only when the use is queued, so most requests read nothing. */
  get remoteAddress(): string | undefined {
    return this.connection.remoteAddress;
  }

  userAgent(): string | undefined {
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'user-agent') return raw[i + 1];
    return undefined;
  }

  get isHead(): boolean {
    return this.method === 'HEAD';
  }

  /** Once, for an idempotent request without a body (nothing of it can have been consumed). */
  retryOnce(): boolean {
    if (this.retried || this.body !== 'none' || !IDEMPOTENT.has(this.method)) return false;
    this.retried = true;
    return true;
  }

  get isDone(): boolean {
    return this.phase === 'done';
  }

  // From the client connection.

  /** A piece of request body, a view of the socket's chunk (never reused by Node, so kept as is). */
  requestData(data: Buffer): void {
    this.requestBytes += data.length;
    if (this.phase === 'forwarding') {
      if (!this.writeBody(data)) this.connection.pauseReading();
    } else if (this.phase !== 'done') {
      // Not forwarded yet (the token is being looked up, or no upstream socket is free): hold
      // this chunk and read no more until it can go.
      (this.queued ??= []).push(data);
      this.connection.pauseReading();
    }
  }

  requestEnded(): void {
    this.requestComplete = true;
    if (this.phase === 'forwarding') this.endBody();
  }

  /** The client connection closed: end the upstream side too, and count the exchange once. */
  clientClosed(): void {
    if (this.phase === 'done') return;
    const wasForwarding = this.phase === 'forwarding' || this.phase === 'waiting';
    this.phase = 'done';
    this.upstream?.abort();
    this.upstream = undefined;
    if (wasForwarding) this.sink.finished(this, 'upstream_error', 499);
    else this.sink.abandoned(this);
  }

  /**
   * The body broke its framing after the head was judged: end the upstream side. Returns true
   * when the client may still get a 400 (nothing of a response was sent).
   */
  badFraming(): boolean {
    const wasForwarded = this.phase === 'forwarding' || this.phase === 'waiting';
    this.phase = 'done';
    this.upstream?.abort();
    this.upstream = undefined;
    this.keepAlive = false;
    if (wasForwarded) this.sink.finished(this, 'not_found', 400);
    else this.sink.abandoned(this);
    return !this.headSent;
  }

  clientDrained(): void {
    this.upstream?.resumeReading();
  }

  // From the pipeline.

  /** Hands the exchange to the upstream pool, after `100 Continue` when the client asked for it. */
  forwarded(): void {
    // Only now, after the token check: a refused upload never sends its body (SPEC §3.1).
    if (this.expectation === 'continue') this.connection.write('HTTP/1.1 100 Continue\r\n\r\n');
    this.phase = 'waiting';
  }

  /** Answers with a problem and ends; the connection closes when a body is left unread. */
  refused(problem: Problem, headers: Readonly<Record<string, string>> | undefined): void {
    if (this.body !== 'none' && !this.requestComplete) this.keepAlive = false;
    if (this.sink.draining) this.keepAlive = false;
    this.status = problem.status;
    const response = problemResponse(problem, this.requestId, headers, !this.keepAlive, this.sink.now());
    // RFC 9110 §9.3.2: an answer to HEAD has no content (Content-Length still says what GET would
    // get); body bytes after it would be read as the start of the next response on the connection.
    this.connection.write(this.isHead ? response.slice(0, response.indexOf('\r\n\r\n') + 4) : response);
    this.phase = 'done';
    this.queued = undefined;
    this.connection.exchangeEnded(this);
  }

  /**
   * Answers with an empty body and the given header lines (each ending in CRLF) and ends, as
   * `refused` does: the decision port's 200 is written here, never forwarded.
   */
  answeredEmpty(status: number, fieldLines: string): void {
    if (this.body !== 'none' && !this.requestComplete) this.keepAlive = false;
    if (this.sink.draining) this.keepAlive = false;
    this.status = status;
    const close = this.keepAlive ? '' : 'connection: close\r\n';
    this.connection.write(`${statusLine(status)}${fieldLines}content-length: 0\r\n${dateHeaderLine(this.sink.now())}${close}\r\n`);
    this.phase = 'done';
    this.queued = undefined;
    this.connection.exchangeEnded(this);
  }

  // UpstreamUser: from the upstream connection.

  /** Request head, then what body was held back, in one corked write. */
  upstreamStarted(connection: UpstreamConnection): void {
    if (this.phase === 'done') return connection.abort();
    this.upstream = connection;
    this.phase = 'forwarding';
    this.upstreamAt = performance.now();
    const queued = this.queued;
    this.queued = undefined;
    // Head, held-back body and end in one writev; the common request (no body) is one write
    // and needs no cork.
    const gather = queued !== undefined || this.body === 'chunked';
    if (gather) connection.cork();
    connection.write(this.requestHead);
    if (queued !== undefined) for (const data of queued) this.writeBody(data);
    if (this.requestComplete) this.endBody();
    if (gather) connection.uncork();
    if (queued !== undefined) this.connection.resumeReading();
  }

  /** Set by the pipeline before dispatch: the head the upstream gets (kept for a retry). */
  requestHead = '';

  upstreamDrained(): void {
    this.connection.resumeReading();
  }

  responseHead(status: number, _reason: string, rawHeaders: string[], framing: Framing): void {
    if (this.phase === 'done') return;
    this.upstreamSeconds = (performance.now() - this.upstreamAt) / 1000;
    this.status = status;
    if (this.sink.draining) this.keepAlive = false;
    const { lines, hasDate } = downstreamHeaderLines(rawHeaders, this.requestId);
    let head = statusLine(status) + lines;
    if (!hasDate) head += dateHeaderLine(this.sink.now());
    if (framing === 'chunked' || framing === 'close') {
      // Re-framed from what llhttp decoded: the client sees exactly the bytes that were parsed.
      if (this.httpMinor >= 1) {
        head += 'transfer-encoding: chunked\r\n';
        this.chunkedOut = true;
      } else {
        this.keepAlive = false; // HTTP/1.0 has no chunks: the body ends at close
      }
    }
    if (!this.keepAlive) head += 'connection: close\r\n';
    else if (this.httpMinor === 0) head += 'connection: keep-alive\r\n';
    this.headSent = true;
    this.connection.corkThisTick();
    this.connection.write(`${head}\r\n`);
  }

  responseData(data: Buffer): void {
    if (this.phase === 'done') return;
    this.responseBytes += data.length;
    const flowing = this.chunkedOut ? this.connection.writeChunk(data) : this.connection.write(data);
    if (!flowing) this.upstream?.pause();
  }

  responseEnd(trailers: string[] | undefined): void {
    if (this.phase === 'done') return;
    if (this.chunkedOut) {
      let end = '0\r\n';
      if (trailers !== undefined) for (let i = 0; i < trailers.length; i += 2) end += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      this.connection.write(`${end}\r\n`);
    }
    // An upload the upstream answered before reading it all: the rest cannot be skipped safely.
    if (!this.requestComplete) this.keepAlive = false;
    this.upstream = undefined;
    this.phase = 'done';
    this.sink.finished(this, 'allowed', this.status);
    this.connection.exchangeEnded(this);
  }

  upstreamFailed(err: Error): void {
    if (this.phase === 'done') return;
    this.upstream = undefined;
    this.phase = 'done';
    const failure = classifyUpstreamError(err);
    this.sink.upstreamFailed(failure.reason);
    if (this.headSent) {
      // Mid-body: the status is gone, so the response is cut to show it is incomplete.
      this.sink.finished(this, 'upstream_error', this.status);
      this.connection.destroy();
      return;
    }
    this.keepAlive = false;
    this.status = failure.status;
    const problem = { status: failure.status, type: failure.type, title: failure.title, detail: 'The request was authorized but the upstream did not answer it.' };
    this.connection.write(problemResponse(problem, this.requestId, undefined, true, this.sink.now()));
    this.sink.finished(this, 'upstream_error', failure.status);
    this.connection.exchangeEnded(this);
  }

  private writeBody(data: Buffer): boolean {
    const upstream = this.upstream!;
    return this.body === 'chunked' ? upstream.writeChunk(data) : upstream.write(data);
  }

  private endBody(): void {
    if (this.body === 'chunked') this.upstream!.write('0\r\n\r\n');
    this.upstream!.requestSent(performance.now());
  }
}
