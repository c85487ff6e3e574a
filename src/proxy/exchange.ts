import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { PeerCertificate } from 'node:tls';
import type { Judged } from '../auth/decide.js';
import type { UseSource } from '../auth/last-used.js';
import type { Refused } from '../auth/verdict.js';
import { ExchangeCore, type ExchangeLedger } from '../exchange/core.js';
import type { EndReason, LiveProtocol } from '../exchange/endings.js';
import type { Problem } from '../http/problem.js';
import type { ClientConnection, Http1Exchange } from '../http1/client-connection.js';
import type { HeadSpans } from '../http1/head-spans.js';
import { dateHeaderLine, problemAnswer, problemResponse, statusLine, statusLineBytes } from '../http1/heads.js';
import type { RequestHead } from '../http1/request-head.js';
import type { Tunnel, TunnelOwner } from '../http1/tunnel.js';
import { GOING_AWAY, websocketAccept } from '../http1/websocket-frames.js';
import { rateLimitField } from '../limits/ratelimit-fields.js';
import { downstreamHeaderLines, responseFieldsOf, writeResponseFields } from './headers.js';
import { verifiedPeerCertificate } from './peer-certificate.js';
import { type Framing, IDEMPOTENT, type UpstreamConnection, type UpstreamUser } from './upstream-connection.js';
import type { UpstreamFault } from './upstream-fault.js';

type Phase = 'deciding' | 'waiting' | 'forwarding' | 'tunnel';

/** The close reason a WebSocket gets when Tollgate ends it (RFC 6455 §7.1.6; at most 123 bytes). */
const CLOSE_REASONS: Readonly<Record<EndReason, string>> = {
  revoked: 'token revoked',
  rights: 'token revoked',
  expired: 'token expired',
  quota: 'quota exceeded',
  config: 'route changed',
};

/**
 * One HTTP/1.1 request and its response, over the exchange core (ids, verdict, slot, counts,
 * the one finish). The client connection fills in what it parsed; the port's pipeline (parse ->
 * authenticate -> route -> authorize -> forward) renders the verdict; the exchange then relays
 * the bodies both ways with backpressure, re-framing chunked bodies from what llhttp validated,
 * and says how it ended.
 */
export class Exchange extends ExchangeCore implements Http1Exchange, UpstreamUser, UseSource, Judged, TunnelOwner {
  /** Whether the client connection may carry another request after this one. */
  keepAlive: boolean;
  requestComplete = false;
  readonly logProtocol = undefined;

  /** The span's protocol: a WebSocket handshake is traced as the WebSocket it asks for. */
  get tracedProtocol(): 'websocket' | 'http/1.1' {
    return this.isUpgrade ? 'websocket' : 'http/1.1';
  }
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
  /**
   * The response head, held until the body's first piece, the response's end or the end of the
   * upstream read that brought it, so that a small response leaves in one write of one buffer.
   */
  private heldHead: string | Buffer | undefined;
  private ending = false;
  /** The client's body ends at the connection's close: only a reset tells it that it was cut. */
  private closeDelimited = false;

  constructor(
    readonly connection: ClientConnection,
    head: RequestHead,
    ledger: ExchangeLedger,
  ) {
    super(ledger);
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

  /** A body not read whole is not counted in forwarded bytes (it may have been cut anywhere). */
  override get countedRequestBytes(): number {
    return this.requestComplete ? this.requestBytes : 0;
  }

  // From the client connection.

  /** A piece of request body, a view of the socket's chunk (never reused by Node, so kept as is). */
  requestData(data: Buffer): boolean {
    this.requestBytes += data.length;
    if (this.isDone) return false;
    if (this.phase === 'forwarding') {
      // Counted as it flows; what was held back is counted when it goes (upstreamStarted).
      if (!this.spend(data.length)) {
        this.end('quota');
        return false;
      }
      if (!this.writeBody(data)) this.connection.pauseReading();
      return this.upstream?.isFlushed() === false;
    } else {
      // Not forwarded yet (the token is being looked up, or no upstream socket is free): hold
      // this chunk and read no more until it can go.
      this.queued ??= [];
      this.queued.push(data);
      this.connection.pauseReading();
      return true;
    }
  }

  requestEnded(): void {
    this.requestComplete = true;
    if (this.phase === 'forwarding' && !this.isDone) this.endBody();
  }

  /** The client connection closed: end the upstream side too, and count the exchange once. */
  clientClosed(): void {
    // A WebSocket's end is the tunnel's to report (tunnelClosed).
    if (this.isDone || this.phase === 'tunnel') return;
    const wasForwarding = this.phase === 'forwarding' || this.phase === 'waiting';
    this.upstream?.abort();
    this.upstream = undefined;
    this.finish(wasForwarding ? 'forwarded' : 'abandoned', 'upstream_error', 499);
  }

  /**
   * The body broke its framing after the head was judged: end the upstream side. Returns true
   * when the client may still get a 400 (nothing of a response was sent).
   */
  badFraming(): boolean {
    const wasForwarded = this.phase === 'forwarding' || this.phase === 'waiting';
    this.upstream?.abort();
    this.upstream = undefined;
    this.keepAlive = false;
    this.finish(wasForwarded ? 'forwarded' : 'abandoned', 'not_found', 400);
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

  /** Answers the verdict's refusal and ends; the connection closes when a body is left unread. */
  refused(verdict: Refused): void {
    this.right = verdict.right;
    this.answerProblem(verdict.problem, verdict.headers, !this.keepAlive || (this.body !== 'none' && !this.requestComplete));
    this.finish('refused', verdict.outcome, verdict.status, verdict.reason);
    this.connection.exchangeEnded(this);
  }

  /** Writes a problem response (nothing after it on the connection when `close`). */
  private answerProblem(problem: Readonly<Problem>, headers: Readonly<Record<string, string>> | undefined, close: boolean): void {
    if (close || this.connection.isDraining) this.keepAlive = false;
    this.status = problem.status;
    this.connection.write(problemAnswer(problem, this.requestId, headers, !this.keepAlive, this.ledger.now(), this.isHead));
    this.queued = undefined;
  }

  // UpstreamUser: from the upstream connection.

  /** Request head, then what body was held back, in one corked write. */
  upstreamStarted(connection: UpstreamConnection, now = performance.now()): void {
    if (this.isDone) return connection.abort();
    this.upstream = connection;
    this.phase = 'forwarding';
    this.upstreamAt = now;
    const queued = this.queued;
    this.queued = undefined;
    if (queued !== undefined && this.limited !== undefined) {
      let bytes = 0;
      for (const data of queued) bytes += data.length;
      if (!this.spend(bytes)) return this.end('quota');
    }
    // Head, held-back body and end in one writev; the common request (no body) is one write
    // and needs no cork.
    const gather = queued !== undefined || this.body === 'chunked';
    if (gather) connection.cork();
    connection.write(this.requestHead);
    if (queued !== undefined) for (const data of queued) this.writeBody(data);
    if (this.requestComplete) this.endBody(now);
    if (gather) connection.uncork();
    if (queued !== undefined) this.connection.resumeReading();
  }

  /** Set by the pipeline before dispatch: the head the upstream gets (kept for a retry). */
  requestHead = '';

  upstreamDrained(): void {
    this.connection.resumeReading();
  }

  responseHead(status: number, _reason: string, rawHeaders: string[], framing: Framing, now = performance.now()): void {
    if (this.isDone) return;
    this.upstreamSeconds = (now - this.upstreamAt) / 1000;
    this.status = status;
    if (this.connection.isDraining) this.keepAlive = false;
    const { lines, hasDate } = downstreamHeaderLines(rawHeaders, this.requestId, this.tokenSource === 'query');
    const head = statusLine(status) + lines;
    if (this.isUpgrade) {
      if (status === 101) {
        // Connection and Upgrade are hop-by-hop, dropped above; a switch needs them (RFC 9110 §7.8).
        this.headSent = true;
        this.connection.write(`${head}${hasDate ? '' : dateHeaderLine(this.ledger.now())}connection: upgrade\r\nupgrade: websocket\r\n\r\n`);
        return;
      }
      // Refused by the upstream: an ordinary response, and the connection closes after it.
      this.keepAlive = false;
    }
    this.headSent = true;
    this.heldHead = head + this.headEnd(hasDate, framing);
  }

  /**
   * UpstreamUser: the common response head, from the bytes of the read that carried it: the same
   * bytes `responseHead` sends, made without a string per field. Declined for a WebSocket
   * handshake's answer and for heads `responseFieldsOf` leaves to strings.
   */
  responseHeadSpans(status: number, spans: HeadSpans, noBody: boolean, now: number): boolean {
    if (this.isDone) return true;
    if (this.isUpgrade) return false;
    const queryToken = this.tokenSource === 'query';
    const fields = responseFieldsOf(spans, this.requestId, queryToken);
    if (fields === undefined) return false;
    this.upstreamSeconds = (now - this.upstreamAt) / 1000;
    this.status = status;
    if (this.connection.isDraining) this.keepAlive = false;
    const end = this.headEnd(fields.hasDate, noBody ? 'none' : fields.framing);
    const line = statusLineBytes(status);
    // The lines this hop adds are ASCII (a date, framing words, numbers): one byte a character.
    const head = Buffer.allocUnsafe(line.length + fields.bytes + end.length);
    line.copy(head, 0);
    const at = writeResponseFields(spans, this.requestId, queryToken, head, line.length);
    head.write(end, at, 'latin1');
    this.headSent = true;
    this.heldHead = head;
    return true;
  }

  /**
   * The response head's lines after the upstream's own (Date when it sent none, the framing and
   * Connection this hop uses, the token's limits) and the blank line; sets how the body is framed.
   */
  private headEnd(hasDate: boolean, framing: Framing): string {
    let head = '';
    if (!hasDate) head += dateHeaderLine(this.ledger.now());
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
    if (limited !== undefined) head += `ratelimit-policy: ${limited.policy}\r\nratelimit: ${rateLimitField(limited, this.ledger.now())}\r\n`;
    return `${head}\r\n`;
  }

  /** UpstreamUser: the upstream read is parsed; a head held for a body that has not come goes alone. */
  readParsed(): void {
    const head = this.heldHead;
    if (head === undefined) return;
    this.heldHead = undefined;
    if (!this.isDone) this.connection.write(head);
  }

  responseData(data: Buffer): boolean {
    if (this.isDone) return true;
    this.responseBytes += data.length;
    if (!this.spend(data.length)) {
      this.end('quota');
      return true;
    }
    const head = this.heldHead;
    if (head !== undefined) {
      this.heldHead = undefined;
      if (data.length > 0 && data.length <= JOINED_BODY_BYTES) {
        // Head and body in one buffer: one write, no cork, no writev (the body is copied anyway).
        if (!this.connection.write(joined(head, data, this.chunkedOut))) this.upstream?.pause();
        return true;
      }
      this.connection.corkThisTick();
      this.connection.write(head);
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
    if (this.isDone) return;
    // A head still held (no body, or none yet written) leaves with the body's end, in one write.
    const head = this.heldHead;
    this.heldHead = undefined;
    if (this.chunkedOut) {
      let out = '0\r\n';
      if (trailers !== undefined) for (let i = 0; i < trailers.length; i += 2) out += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      out += '\r\n';
      this.connection.write(head === undefined ? out : typeof head === 'string' ? head + out : Buffer.concat([head, Buffer.from(out)]));
    } else if (head !== undefined && head.length > 0) this.connection.write(head);
    // An upload the upstream answered before reading it all: the rest cannot be skipped safely.
    if (!this.requestComplete) this.keepAlive = false;
    this.upstream = undefined;
    this.finish('forwarded', 'allowed', this.status);
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
    if (this.isDone) return void socket.destroy();
    this.phase = 'tunnel';
    this.requestComplete = true;
    this.tunnel = this.connection.startTunnel(socket, rest, this);
    // Shutdown began while the upstream was answering: this WebSocket is told at once.
    if (this.connection.isDraining) this.goingAway();
  }

  tunnelBytes(fromClient: number, fromUpstream: number): void {
    this.requestBytes += fromClient;
    this.responseBytes += fromUpstream;
    // A WebSocket's frames count against a byte quota like any body.
    if (!this.spend(fromClient + fromUpstream)) this.end('quota');
  }

  tunnelClosed(): void {
    this.finish('forwarded', 'allowed', 101);
  }

  /** Shutdown: a WebSocket is told the server is going away (1001) rather than cut at the grace. */
  goingAway(): void {
    this.tunnel?.end('server shutting down', GOING_AWAY);
  }

  /** LiveExchange: the protocol label this exchange counts under. */
  get liveProtocol(): LiveProtocol {
    return this.phase === 'tunnel' || this.isUpgrade ? 'websocket' : 'http';
  }

  upstreamFailed(failure: UpstreamFault): void {
    if (this.isDone) return;
    this.upstream = undefined;
    this.ledger.upstreamFailed(failure.reason);
    if (this.headSent) {
      // Mid-body: the status is gone, so the response is cut to show it is incomplete.
      this.finish('forwarded', 'upstream_error', this.status);
      this.connection.destroy();
      return;
    }
    this.keepAlive = false;
    this.status = failure.status;
    const problem = {
      status: failure.status,
      type: failure.type,
      title: failure.title,
      detail: 'The request was authorized but the upstream did not answer it.',
    };
    this.connection.write(problemResponse(problem, this.requestId, undefined, true, this.ledger.now()));
    this.finish('forwarded', 'upstream_error', failure.status);
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
    if (this.isDone || this.ending) return;
    this.ending = true;
    if (this.phase === 'tunnel') {
      this.ledger.exchangeCut(reason);
      return this.tunnel!.end(CLOSE_REASONS[reason]);
    }
    const wasForwarded = this.phase === 'forwarding' || this.phase === 'waiting';
    this.queued = undefined;
    this.upstream?.abort();
    this.upstream = undefined;
    this.keepAlive = false;
    this.ledger.exchangeCut(reason);
    this.finish(wasForwarded ? 'forwarded' : 'abandoned', 'forbidden', this.headSent ? this.status : reason === 'quota' ? 429 : 403);
    // A framed body (length or chunks) shows its cut by ending early; a close-delimited one
    // needs a reset, which also drops what the client had not read yet, so only then.
    if (this.closeDelimited) this.connection.cut();
    else this.connection.destroy();
  }

  private writeBody(data: Buffer): boolean {
    const upstream = this.upstream!;
    return this.body === 'chunked' ? upstream.writeChunk(data) : upstream.write(data);
  }

  private endBody(now = performance.now()): void {
    if (this.body === 'chunked') this.upstream!.write('0\r\n\r\n');
    this.upstream!.requestSent(now);
  }
}

/** A body piece this small goes in one buffer with the response head (the upstream reads at most 64 KiB). */
const JOINED_BODY_BYTES = 16 * 1024;

/**
 * The response head and the body's first piece (as one chunk when `chunked`) in one buffer. A
 * head string is encoded as `socket.write(string)` encodes it (UTF-8), so the bytes sent are unchanged.
 */
function joined(head: string | Buffer, data: Buffer, chunked: boolean): Buffer {
  const size = chunked ? `${data.length.toString(16)}\r\n` : '';
  const headBytes = typeof head === 'string' ? Buffer.byteLength(head) : head.length;
  const textBytes = headBytes + size.length;
  const out = Buffer.allocUnsafe(textBytes + data.length + (chunked ? 2 : 0));
  if (typeof head === 'string') out.write(head, 0);
  else head.copy(out, 0);
  if (chunked) out.write(size, headBytes, 'latin1');
  data.copy(out, textBytes);
  if (chunked) out.write('\r\n', textBytes + data.length, 'latin1');
  return out;
}

/** The first value of a field, by lower-case name. */
function fieldOf(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}
