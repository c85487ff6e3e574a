import type { PeerCertificate } from 'node:tls';
import type { ForwardIdentity, Judged } from '../auth/decide.js';
import type { Outcome } from '../auth/decision.js';
import type { UseSource } from '../auth/last-used.js';
import type { Problem } from '../http/problem.js';
import type { CredentialLabel, RightLabel } from '../metrics/metrics.js';
import { verifiedPeerCertificate } from './peer-certificate.js';
import { rateLimitField } from '../limits/ratelimit-fields.js';
import type { TokenBudget } from '../limits/token-budget.js';
import { NO_TRACE, type ExchangeTrace } from '../tracing/tracing.js';
import type { ClientConnection } from './client-connection.js';
import { dateHeaderLine, problemResponse, statusLine } from './heads.js';
import { downstreamHeaderLines } from './headers.js';
import type { Socket } from 'node:net';
import type { Identity } from '../auth/authorize.js';
import type { TokenSource } from '../auth/token-sources.js';
import type { EndReason, LiveProtocol } from '../metrics/metrics.js';
import type { LiveExchange } from './live-exchanges.js';
import type { Tunnel, TunnelOwner } from './tunnel.js';
import { GOING_AWAY, websocketAccept } from './websocket-frames.js';
import { IDEMPOTENT, type Framing, type UpstreamConnection, type UpstreamUser } from './upstream-connection.js';
import { classifyUpstreamError, type UpstreamFailure } from './upstream-errors.js';

/** Where an exchange reports its end (metrics, access log) and asks the clock. */
export interface ExchangeSink {
  /** True once shutdown began: the connection closes after this response. */
  readonly draining: boolean;
  now(): number;
  finished(exchange: Exchange, outcome: Outcome, status: number): void;
  abandoned(exchange: Exchange): void;
  upstreamFailed(reason: UpstreamFailure['reason']): void;
  /** An open exchange was cut by Tollgate itself (exchanges_ended_total, docs/reference/metrics.md). */
  exchangeCut?(reason: EndReason): void;
}

type Phase = 'deciding' | 'waiting' | 'forwarding' | 'tunnel' | 'done';

/** The close reason a WebSocket gets when Tollgate ends it (RFC 6455 §7.1.6; at most 123 bytes). */
const CLOSE_REASONS: Readonly<Record<EndReason, string>> = {
  revoked: 'token revoked',
  rights: 'token revoked',
  expired: 'token expired',
  quota: 'quota exceeded',
  config: 'route changed',
};

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
  /** `websocket` for a GET asking to become a WebSocket, `other` for any other upgrade asked for. */
  upgrade: 'none' | 'websocket' | 'other';
}

/**
 * One request and its response: the object the whole request path works on. The client
 * connection fills in what it parsed; the server's pipeline (parse -> authenticate -> route ->
 * authorize -> forward) sets who and what; the exchange then relays the bodies both ways with
 * backpressure, re-framing chunked bodies from what llhttp validated, and ends exactly once.
 */
export class Exchange implements UpstreamUser, UseSource, Judged, LiveExchange, TunnelOwner {
  readonly started = performance.now();
  /** Set by the pipeline. */
  requestId = '';
  path = '';
  right: RightLabel = 'none';
  credential: CredentialLabel = 'none';
  identity: ForwardIdentity | undefined = undefined;
  tokenSource: TokenSource | undefined = undefined;
  token: Identity | undefined = undefined;
  /** The token's limits, when it has any: body bytes are spent there, and its stream slot is given back at the end. */
  limited: TokenBudget | undefined = undefined;
  /** TRACING: this exchange's spans (docs/tracing.md); the shared no-op while tracing is off. */
  trace: ExchangeTrace = NO_TRACE;
  /** Set by the decision step: the route pattern matched, for the span. */
  route: string | undefined = undefined;
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
  readonly isUpgrade: boolean;
  readonly upgrade: RequestHead['upgrade'];

  private phase: Phase = 'deciding';
  private upstream: UpstreamConnection | undefined;
  private queued: Buffer[] | undefined;
  private upstreamAt = 0;
  private headSent = false;
  private chunkedOut = false;
  private retried = false;
  private tunnel: Tunnel | undefined;
  private ending = false;
  /** The client's body ends at the connection's close: only a reset tells it that it was cut. */
  private closeDelimited = false;

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
    this.upgrade = head.upgrade;
    this.isUpgrade = head.upgrade === 'websocket';
    // No body: the request is whole with its head, even before llhttp reports its end.
    this.requestComplete = head.body === 'none';
  }

  /** UseSource (lastUsedAt): read only when the use is queued, so most requests read nothing. */
  get remoteAddress(): string | undefined {
    return this.connection.remoteAddress;
  }

  userAgent(): string | undefined {
    return fieldOf(this.rawHeaders, 'user-agent');
  }

  /** Judged: read only when no bearer came and client certificates are asked for. */
  get clientCertificate(): PeerCertificate | undefined {
    return verifiedPeerCertificate(this.connection.socket);
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
  /**
   * A piece of the request body. Returns true when `data` is still referenced once this returns
   * (held back, or waiting in the upstream socket's write queue): a connection that reads into a
   * buffer of its own must not read into that one again.
   */
  requestData(data: Buffer): boolean {
    this.requestBytes += data.length;
    if (this.phase === 'forwarding') {
      // Counted as it flows; what was held back is counted when it goes (upstreamStarted).
      if (this.limited !== undefined && !this.limited.spendBytes(data.length, this.sink.now())) {
        this.end('quota');
        return false;
      }
      if (!this.writeBody(data)) this.connection.pauseReading();
      return this.upstream?.isFlushed() === false;
    }
    if (this.phase !== 'done') {
      // Not forwarded yet (the token is being looked up, or no upstream socket is free): hold
      // this chunk and read no more until it can go.
      (this.queued ??= []).push(data);
      this.connection.pauseReading();
      return true;
    }
    return false;
  }

  requestEnded(): void {
    this.requestComplete = true;
    if (this.phase === 'forwarding') this.endBody();
  }

  /** The client connection closed: end the upstream side too, and count the exchange once. */
  clientClosed(): void {
    // A WebSocket's end is the tunnel's to report (tunnelClosed).
    if (this.phase === 'done' || this.phase === 'tunnel') return;
    const wasForwarding = this.phase === 'forwarding' || this.phase === 'waiting';
    this.phase = 'done';
    this.releaseLimits();
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
    this.releaseLimits();
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
    // Only now, after the token check: a refused upload never sends its body (docs/data-plane.md).
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
    this.releaseLimits();
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
    if (queued !== undefined && this.limited !== undefined) {
      let bytes = 0;
      for (const data of queued) bytes += data.length;
      if (!this.limited.spendBytes(bytes, this.sink.now())) return this.end('quota');
    }
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
    const { lines, hasDate } = downstreamHeaderLines(rawHeaders, this.requestId, this.tokenSource === 'query');
    let head = statusLine(status) + lines;
    if (this.isUpgrade) {
      if (status === 101) {
        // Connection and Upgrade are hop-by-hop, dropped above; a switch needs them (RFC 9110 §7.8).
        this.headSent = true;
        this.connection.write(`${head}${hasDate ? '' : dateHeaderLine(this.sink.now())}connection: upgrade\r\nupgrade: websocket\r\n\r\n`);
        return;
      }
      // Refused by the upstream: an ordinary response, and the connection closes after it.
      this.keepAlive = false;
    }
    if (!hasDate) head += dateHeaderLine(this.sink.now());
    if (framing === 'chunked' || framing === 'close') {
      // Re-framed from what llhttp decoded: the client sees exactly the bytes that were parsed.
      if (this.httpMinor >= 1) {
        head += 'transfer-encoding: chunked\r\n';
        this.chunkedOut = true;
      } else {
        this.keepAlive = false; // HTTP/1.0 has no chunks: the body ends at close
        this.closeDelimited = true;
      }
    }
    if (!this.keepAlive) head += 'connection: close\r\n';
    else if (this.httpMinor === 0) head += 'connection: keep-alive\r\n';
    // Every response to a limited token carries its limits (draft-ietf-httpapi-ratelimit-headers-09).
    const limited = this.limited;
    if (limited !== undefined) head += `ratelimit-policy: ${limited.policy}\r\nratelimit: ${rateLimitField(limited, this.sink.now())}\r\n`;
    this.headSent = true;
    this.connection.corkThisTick();
    this.connection.write(`${head}\r\n`);
  }

  responseData(data: Buffer): boolean {
    if (this.phase === 'done') return true;
    this.responseBytes += data.length;
    if (this.limited !== undefined && !this.limited.spendBytes(data.length, this.sink.now())) {
      this.end('quota');
      return true;
    }
    // The upstream's read buffer is reused for its next read: bytes the client socket would only
    // queue (corked for this tick, or behind bytes not yet sent) go as a copy of their own size.
    const isCopied = !this.connection.isFlushed();
    const out = isCopied ? Buffer.from(data) : data;
    const flowing = this.chunkedOut ? this.connection.writeChunk(out) : this.connection.write(out);
    if (!flowing) this.upstream?.pause();
    return isCopied || this.connection.isFlushed();
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
    this.releaseLimits();
    this.sink.finished(this, 'allowed', this.status);
    this.connection.exchangeEnded(this);
  }

  /** UpstreamUser: a 101 must carry the accept value for this handshake's key (RFC 6455 §4.2.2). */
  acceptsSwitch(rawHeaders: readonly string[]): boolean {
    const key = fieldOf(this.rawHeaders, 'sec-websocket-key');
    const accept = fieldOf(rawHeaders, 'sec-websocket-accept');
    return key !== undefined && accept === websocketAccept(key);
  }

  /** The upstream switched to WebSocket: relay bytes from here until either side closes. */
  upgraded(socket: Socket, rest: Buffer): void {
    this.upstream = undefined;
    if (this.phase === 'done') return void socket.destroy();
    this.phase = 'tunnel';
    this.requestComplete = true;
    this.tunnel = this.connection.startTunnel(socket, rest, this);
    // Shutdown began while the upstream was answering: this WebSocket is told at once.
    if (this.sink.draining) this.goingAway();
  }

  tunnelBytes(fromClient: number, fromUpstream: number): void {
    this.requestBytes += fromClient;
    this.responseBytes += fromUpstream;
    // A WebSocket's frames count against a byte quota like any body.
    if (this.limited !== undefined && !this.limited.spendBytes(fromClient + fromUpstream, this.sink.now())) this.end('quota');
  }

  tunnelClosed(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.releaseLimits();
    this.sink.finished(this, 'allowed', 101);
  }

  /** Shutdown: a WebSocket is told the server is going away (1001) rather than cut at the grace. */
  goingAway(): void {
    this.tunnel?.end('server shutting down', GOING_AWAY);
  }

  /** LiveExchange: the protocol label this exchange counts under. */
  get liveProtocol(): LiveProtocol {
    return this.phase === 'tunnel' || this.isUpgrade ? 'websocket' : 'http';
  }

  upstreamFailed(err: Error): void {
    if (this.phase === 'done') return;
    this.upstream = undefined;
    this.phase = 'done';
    this.releaseLimits();
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

  /**
   * LiveExchange: Tollgate ends this open exchange itself, because its token stopped allowing it
   * (revoked, expired, a right gone) or its quota ran out mid-body. A WebSocket gets a close frame
   * (1008) each way; an HTTP exchange is cut: the upstream request is aborted and the client
   * connection destroyed, since a status already sent cannot be changed and a truncated body
   * must not look whole. Counted once, however often it is asked.
   */
  end(reason: EndReason): void {
    if (this.phase === 'done' || this.ending) return;
    this.ending = true;
    if (this.phase === 'tunnel') {
      this.sink.exchangeCut?.(reason);
      return this.tunnel!.end(CLOSE_REASONS[reason]);
    }
    const wasForwarded = this.phase === 'forwarding' || this.phase === 'waiting';
    this.phase = 'done';
    this.releaseLimits();
    this.queued = undefined;
    this.upstream?.abort();
    this.upstream = undefined;
    this.keepAlive = false;
    this.sink.exchangeCut?.(reason);
    if (wasForwarded) this.sink.finished(this, 'forbidden', this.headSent ? this.status : reason === 'quota' ? 429 : 403);
    else this.sink.abandoned(this);
    // A framed body (length or chunks) shows its cut by ending early; a close-delimited one
    // needs a reset, which also drops what the client had not read yet, so only then.
    if (this.closeDelimited) this.connection.cut();
    else this.connection.destroy();
  }

  /** The stream slot this exchange held goes back, once, whichever way it ended. */
  private releaseLimits(): void {
    const limited = this.limited;
    if (limited === undefined) return;
    this.limited = undefined;
    limited.streamEnded();
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

/** The first value of a field, by lower-case name. */
function fieldOf(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}
