import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { writeChunk } from '../http1/chunked.js';
import { ERROR_PAUSED, ERROR_USER, FieldList, HEADERS_GO_ON, HEADERS_SKIP_BODY, Http1Parser, TYPE_RESPONSE, trimValues } from '../http1/codec.js';
import { HeadSpans } from '../http1/head-spans.js';
import type { ReadBuffer } from '../http1/read-buffer.js';
import { invalidResponse, socketFault, type UpstreamFault, upstreamClosed, upstreamTimeout } from './upstream-fault.js';

/**
 * Methods whose request may be sent twice (RFC 9110 §9.2.2): what a user's retryOnce allows,
 * when the request has no body either.
 */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** How a response body is delimited, as the upstream framed it. */
export type Framing = 'none' | 'length' | 'chunked' | 'close';

/** The side of an exchange that talks to the upstream (implemented by Exchange). */
export interface UpstreamUser {
  /** HEAD: the response has no body whatever its headers say. */
  readonly isHead: boolean;
  /** True (once) when it may be sent again on a fresh socket, after a reused one closed before any response byte. */
  retryOnce(): boolean;
  /** The socket is ours: write the request head and what body there is. `now`: performance.now(), read once for both sides. */
  upstreamStarted(connection: UpstreamConnection, now?: number): void;
  /** The response head; `now`: performance.now() when it was parsed, read once for both sides. */
  responseHead(status: number, reason: string, rawHeaders: string[], framing: Framing, now?: number): void;
  /**
   * A final response head (not 1xx) that came whole in one read, as spans of that read instead of
   * strings; valid only during this call. True when taken; false to have it through
   * `responseHead` instead (the user keeps no state from a false). `noBody`: HEAD, 204 or 304.
   */
  responseHeadSpans?(status: number, head: HeadSpans, noBody: boolean, now: number): boolean;
  /**
   * A piece of the response body. True when nothing holds `chunk` once this returns (the client
   * socket took it whole): the memory it lies in is then reused for the next read.
   */
  responseData(chunk: Buffer): boolean;
  responseEnd(trailers: string[] | undefined): void;
  /** The read that brought response bytes is parsed and the response goes on: what was held for it may go. */
  readParsed?(): void;
  /** The socket can take more request body. */
  upstreamDrained(): void;
  /** A WebSocket upgrade: a 101 is its final answer, after which the socket is the user's. */
  readonly isUpgrade?: boolean;
  /** Whether a 101's fields prove it answers this handshake (Sec-WebSocket-Accept). */
  acceptsSwitch?(rawHeaders: readonly string[]): boolean;
  /** The upstream answered 101: the socket (no longer this pool's) and the bytes after the head. */
  upgraded?(socket: Socket, rest: Buffer): void;
  /** The upstream failed this request; `started`: some of the response was already passed on. */
  upstreamFailed(fault: UpstreamFault, started: boolean): void;
}

/** What a connection asks of the pool that owns it (upstream-pool.ts). */
export interface ConnectionOwner {
  readonly isTls: boolean;
  readonly options: { readonly connectTimeoutMs: number; readonly headersTimeoutMs: number; readonly idleTimeoutMs: number };
  /** The response ended with keep-alive: the socket may carry the next request. */
  released(connection: UpstreamConnection): void;
  /** The socket closed or was handed over: it no longer counts against the bound. */
  gone(connection: UpstreamConnection): void;
  /** Runs `user` again, on a fresh socket when `fresh`. */
  dispatch(user: UpstreamUser, fresh: boolean): void;
}

type Phase = 'waiting' | 'head' | 'body' | 'idle';

/**
 * One socket to the upstream with its llhttp response parser. It carries one exchange at a
 * time; when the response ends with keep-alive and the request was sent whole, the pool gets it
 * back. Any fault ends the socket: it is never reused after an error, a timeout or an abort.
 */
export class UpstreamConnection extends Http1Parser {
  /** When the pool last put it in its idle list. */
  idleSince = 0;
  /** Set by the pool while an exchange runs on it (the pool's busy count). */
  isBusy = false;
  private user: UpstreamUser | undefined;
  private uses = 0;
  private phase: Phase = 'waiting';
  private connected = false;
  private since: number;
  private lastBytes = 0;
  /**
   * Bytes given to the socket and bytes it read, counted here: all the deadline sweep asks is
   * whether they moved, and the socket's `bytesWritten` getter walks its write queue per call.
   */
  private bytesOut = 0;
  private bytesIn = 0;
  private responseStarted = false;
  private requestDone = false;
  private interim = false;
  private switching = false;
  private ended = false;
  /** Set while a read is parsed: a piece of it is still referenced downstream. */
  private isReadKept = false;
  /** After a 101 the socket is the tunnel's, which reads `data` events. */
  private isHandedOver = false;
  /** The first fault seen on this socket: what its user is told when it closes. */
  private fault: UpstreamFault | undefined;
  private status = 0;
  private readonly fields = new FieldList();
  /** The head's fields while it is read as spans (`spanning`): see responseHeadSpans. */
  private readonly spans = new HeadSpans();
  private spanning = false;
  private trailers: FieldList | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly pool: ConnectionOwner,
    now: number,
    /** Set when the socket reads into a buffer of ours (`onread`): `readInto` gets the bytes. */
    private readonly reads?: ReadBuffer,
  ) {
    super(TYPE_RESPONSE);
    this.since = now;
    socket.on(pool.isTls ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.since = performance.now();
    });
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('end', this.onEnd);
    socket.on('error', (err) => (this.fault ??= socketFault(err)));
    socket.on('close', () => this.closed());
    socket.on('drain', () => this.user?.upstreamDrained());
  }

  start(user: UpstreamUser, now: number): void {
    this.user = user;
    this.uses++;
    this.phase = 'head';
    this.since = now;
    this.lastBytes = this.bytesOut;
    this.responseStarted = false;
    this.requestDone = false;
    this.ended = false;
    this.status = 0;
    this.fields.take();
    this.spans.reset();
    this.spanning = false;
    this.trailers = undefined;
    user.upstreamStarted(this, now);
  }

  /** Nothing waits to be written: what was given to `write` has left (or was never kept). */
  isFlushed(): boolean {
    return this.socket.writableLength === 0;
  }

  /** Writes request bytes; false when the socket's buffer is full (wait for upstreamDrained). */
  write(data: Buffer | string): boolean {
    this.bytesOut += data.length;
    return this.socket.write(data);
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  /** Writes one chunk of a chunked body (size line, data, CRLF) as one writev. */
  writeChunk(data: Buffer): boolean {
    this.bytesOut += data.length;
    return writeChunk(this.socket, data);
  }

  /** The request is written whole: from here the headers timeout runs. */
  requestSent(now: number): void {
    this.requestDone = true;
    if (this.phase === 'head') this.since = now;
  }

  pause(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** The exchange is gone (its client left): the socket goes too, mid-request it is useless. */
  abort(): void {
    this.user = undefined;
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Called by the pool's sweep: connect, headers and idle timeouts without a timer per request. */
  checkDeadline(now: number): void {
    if (!this.connected) {
      if (now - this.since >= this.pool.options.connectTimeoutMs) this.fail(upstreamTimeout('connect'));
      return;
    }
    if (this.phase === 'head' && this.requestDone) {
      if (now - this.since >= this.pool.options.headersTimeoutMs) this.fail(upstreamTimeout('headers'));
      return;
    }
    if (this.phase === 'head' || this.phase === 'body') {
      // An upload still moving, or a body still arriving, is alive; silence for idleMs is not.
      const bytes = this.bytesIn + this.bytesOut;
      if (bytes !== this.lastBytes) {
        this.lastBytes = bytes;
        this.since = now;
      } else if (now - this.since >= this.pool.options.idleTimeoutMs) {
        this.fail(upstreamTimeout('body'));
      }
    }
  }

  private fail(fault: UpstreamFault): void {
    this.fault = fault;
    this.socket.destroy();
  }

  /** `onread`'s callback: a read landed in the shared buffer. */
  readInto(nread: number, buffer: Buffer): void {
    const chunk = buffer.subarray(0, nread);
    // Copied: the tunnel may queue it, and the buffer is reused for the next read.
    if (this.isHandedOver) return void this.socket.emit('data', Buffer.from(chunk));
    this.received(chunk);
    if (this.isReadKept) {
      this.isReadKept = false;
      this.reads?.lend();
    }
  }

  private received(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (this.user === undefined) {
      // Bytes with no request outstanding: the upstream is confused; this socket is done.
      this.socket.destroy();
      return;
    }
    const result = this.execute(chunk);
    // A head not finished in this read: its spans lie in memory the next read may reuse.
    if (this.spanning) this.stopSpanning();
    if (result.kind === 'ok') return void this.user?.readParsed?.();
    if (result.kind === 'error') return this.fail(invalidResponse(result.reason));
    if (this.switching) return this.handOver(result.rest);
    // Paused: the response ended (onMessageComplete). Anything after it was never asked for.
    if (result.rest.length > 0) return void this.socket.destroy();
    this.afterResponse();
  }

  private afterResponse(): void {
    const user = this.user;
    this.user = undefined;
    this.phase = 'idle';
    const keepAlive = this.shouldKeepAlive() && this.requestDone;
    user?.responseEnd(this.trailers?.take());
    if (!keepAlive || this.socket.destroyed) return void this.socket.destroy();
    this.resume(false);
    this.pool.released(this);
  }

  /** After a 101: the socket leaves the pool (its slot frees) and belongs to the user's tunnel. */
  private handOver(rest: Buffer): void {
    const user = this.user;
    this.user = undefined;
    this.phase = 'idle';
    const socket = this.socket;
    this.isHandedOver = true;
    for (const event of ['data', 'error', 'close', 'drain']) socket.removeAllListeners(event);
    // Only ours: net.Socket keeps an 'end' listener of its own.
    socket.removeListener('end', this.onEnd);
    this.free();
    this.pool.gone(this);
    if (user?.upgraded === undefined) return void socket.destroy();
    user.upgraded(socket, Buffer.from(rest));
  }

  private readonly onEnd = (): void => this.peerEnded();

  private peerEnded(): void {
    if (this.phase === 'body') {
      // A close-delimited body ends here; finish() calls onMessageComplete for it.
      const result = this.finish();
      if (result.kind === 'ok' && this.ended) {
        const user = this.user;
        this.user = undefined;
        user?.responseEnd(this.trailers?.take());
      }
    }
    this.socket.destroy();
  }

  private closed(): void {
    this.free();
    const user = this.user;
    const started = this.status !== 0;
    this.user = undefined;
    this.phase = 'idle';
    this.pool.gone(this);
    if (user === undefined) return;
    // A reused socket the upstream had already closed: it saw nothing of this request.
    const fault = this.fault ?? upstreamClosed();
    if (!this.responseStarted && this.uses > 1 && fault.retryable && user.retryOnce()) {
      this.pool.dispatch(user, true);
      return;
    }
    user.upstreamFailed(fault, started);
  }

  // llhttp callbacks (response mode).

  onMessageBegin(): number {
    this.responseStarted = true;
    this.spanning = this.phase === 'head' && this.user?.responseHeadSpans !== undefined;
    this.spans.reset();
    return 0;
  }

  /** The head goes on as strings: the fields spanned so far become strings first. */
  private stopSpanning(): void {
    this.spanning = false;
    this.spans.spill(this.fields);
  }

  onUrl(): number {
    return 0;
  }

  onHeaderField(chunk: Buffer, start: number, end: number): number {
    // After the head, fields are trailers (of a chunked body).
    if (this.phase !== 'body') {
      if (this.spanning) {
        if (this.spans.name(chunk, start, end)) return 0;
        this.stopSpanning();
      }
      this.fields.name(chunk, start, end);
    } else {
      this.trailers ??= new FieldList();
      this.trailers.name(chunk, start, end);
    }
    return 0;
  }

  onHeaderValue(chunk: Buffer, start: number, end: number): number {
    if (this.spanning) {
      if (this.spans.value(chunk, start, end)) return 0;
      this.stopSpanning();
    }
    (this.phase === 'body' ? this.trailers! : this.fields).value(chunk, start, end);
    return 0;
  }

  onHeadersComplete(status: number): number {
    if (this.spanning) {
      this.spanning = false;
      // A final head whole in this read: the user may take it as spans, and no strings are made.
      if (status >= 200 && status !== 101 && this.spans.isWhole) return this.finalHead(status, undefined);
      this.spans.spill(this.fields);
    }
    const raw = this.fields.take();
    if (status === 101) {
      // A switch is accepted only as the answer to the WebSocket handshake Tollgate forwarded,
      // proven by Sec-WebSocket-Accept (RFC 6455 §4.2.2): an upstream that says 101 to anything
      // else, or without the proof, would turn the connection into a tunnel no check covers.
      trimValues(raw);
      if (this.user?.isUpgrade !== true || !this.user.acceptsSwitch!(raw)) {
        this.fail(invalidResponse('a switch of protocols that answers no WebSocket handshake'));
        return ERROR_USER;
      }
      // Its head is the answer, and the bytes after it are WebSocket frames, not HTTP
      // (handOver, once this execute pauses at the message end).
      this.switching = true;
      this.status = status;
      this.user.responseHead(status, '', raw, 'none', performance.now());
      return HEADERS_GO_ON;
    }
    if (status < 200) {
      // 100 Continue and other interim answers: Tollgate answered Expect itself; the final one follows.
      this.interim = true;
      return HEADERS_GO_ON;
    }
    trimValues(raw);
    return this.finalHead(status, raw);
  }

  /** A final head: the body begins, and the user gets the head (`raw` undefined: as spans, if it takes them). */
  private finalHead(status: number, raw: string[] | undefined): number {
    this.status = status;
    this.phase = 'body';
    this.lastBytes = this.bytesIn + this.bytesOut;
    const now = performance.now();
    this.since = now;
    const user = this.user!;
    const noBody = user.isHead || status === 204 || status === 304;
    if (raw === undefined) {
      const isTaken = user.responseHeadSpans!(status, this.spans, noBody, now);
      if (!isTaken) {
        this.spans.spill(this.fields);
        raw = this.fields.take();
        trimValues(raw);
      }
      this.spans.reset();
    }
    if (raw !== undefined) user.responseHead(status, '', raw, noBody ? 'none' : framingOf(raw), now);
    return user.isHead ? HEADERS_SKIP_BODY : HEADERS_GO_ON;
  }

  onBody(chunk: Buffer, start: number, end: number): number {
    if (this.user?.responseData(chunk.subarray(start, end)) === false) this.isReadKept = true;
    return 0;
  }

  onMessageComplete(): number {
    if (this.interim) {
      this.interim = false;
      this.responseStarted = false;
      return 0;
    }
    this.ended = true;
    return ERROR_PAUSED;
  }
}

/** Content-Length when the upstream sent one (llhttp has checked it), else chunked, else up to close. */
function framingOf(raw: string[]): Framing {
  let framing: Framing = 'close';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return 'chunked';
    if (name.length === 14 && name.toLowerCase() === 'content-length') framing = 'length';
  }
  return framing;
}
