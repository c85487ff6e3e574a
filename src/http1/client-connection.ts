import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { readIntoOwnBuffer } from './accepted-reads.js';
import { writeChunk } from './chunked.js';
import { ERROR_PAUSED, ERROR_USER, FieldList, HEADERS_GO_ON, Http1Parser, TYPE_REQUEST, trimValues } from './codec.js';
import { bareResponse } from './heads.js';
import { prefaceOf } from './preface.js';
import { ReadBuffer } from './read-buffer.js';
import type { RequestHead } from './request-head.js';
import { Tunnel, type TunnelOwner } from './tunnel.js';

/**
 * A read this large that carries body bytes marks a bulk upload: from then on the connection
 * reads into a buffer of its own. Smaller requests keep Node's reads, sized to what arrived, so
 * an idle keep-alive connection holds no 64 KiB buffer.
 */
const BULK_READ_BYTES = 32 * 1024;

/** Node's default `maxHeaderSize`: the request line and header fields together. */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * One request on the connection, from its head to the end of its response, as the connection
 * drives it: the port's exchange (the proxy's forwarding one, the decision port's answering one).
 */
export interface Http1Exchange {
  /** Whether the connection may carry another request after this one. */
  readonly keepAlive: boolean;
  /** The request body was read whole (or there was none). */
  readonly requestComplete: boolean;
  readonly isDone: boolean;
  /** A piece of request body, a view of the socket's chunk; true when it is still held once this returns (the read buffer is then not reused). */
  requestData(data: Buffer): boolean;
  requestEnded(): void;
  /** The client socket can take more. */
  clientDrained(): void;
  /** The client connection closed. */
  clientClosed(): void;
  /** The body broke its framing after the head was judged; true when a 400 may still be written. */
  badFraming(): boolean;
  /** Shutdown began: a long-lived exchange (a WebSocket) is told. */
  goingAway(): void;
}

/** What the connection asks of the server: an exchange for each parsed head, and the pipeline for it. */
export interface ConnectionHost {
  /** True once shutdown began: the connection closes after its response. */
  readonly draining: boolean;
  /** The exchange that carries a parsed request head. */
  open(connection: ClientConnection, head: RequestHead): Http1Exchange;
  /** The head was parsed without a framing fault: judge it and answer. */
  handle(exchange: Http1Exchange): void;
  closed(connection: ClientConnection): void;
  /** A connection opened with the HTTP/2 preface: true when the host took the socket over. */
  http2Preface?(socket: Socket, firstBytes: Buffer): boolean;
}

const EMPTY = Buffer.alloc(0);

/** How long a connection we closed waits for the client's close before it is destroyed (nginx's lingering_timeout). */
const LINGER_MS = 5000;

const uncork = (socket: Socket): void => void socket.uncork();

/**
 * A WebSocket opening handshake as RFC 6455 §4.1 requires it: a GET without a body, `Upgrade:
 * websocket`, version 13 and a key. Anything less is not relayed: its 101 could not be checked
 * (exchange.ts compares Sec-WebSocket-Accept with the key), and an upgrade carrying a body
 * leaves client and upstream free to disagree on where the frames begin.
 */
function isWebSocketHandshake(head: RequestHead, upgradeTo: string | undefined): boolean {
  if (head.method !== 'GET' || head.body !== 'none' || upgradeTo?.trim().toLowerCase() !== 'websocket') return false;
  let key: string | undefined;
  let version: string | undefined;
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'sec-websocket-key') key = key === undefined ? raw[i + 1] : '';
    else if (name === 'sec-websocket-version') version = version === undefined ? raw[i + 1] : '';
  }
  // The key is 16 random bytes in base64 (24 characters); one of each field.
  return version === '13' && key !== undefined && /^[A-Za-z0-9+/]{22}==$/.test(key);
}

/** How node:http reads an Expect value as asking for 100 Continue. */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * One client connection: llhttp in request mode over the socket, one request at a time. The
 * parser pauses at the end of each request, so a pipelined request waits, unparsed, until the
 * response before it is written (answers in order, and no request is judged before the one
 * ahead of it ends). Header bytes are limited while they arrive, not after.
 */
export class ClientConnection extends Http1Parser {
  /** The request in progress, from its head until its response ends. */
  exchange: Http1Exchange | undefined;
  /** When the current head began (performance.now(); 0: none is being read), for the headers timeout. */
  headStartedAt: number;
  private url = '';
  private readonly fields = new FieldList();
  private headerBytes = 0;
  private inHead = false;
  private overflow = false;
  private executing = false;
  /** Paused at a message end: the bytes after it, waiting for the response to end. */
  private waiting = false;
  private pausedUpgrade = false;
  private pending: Buffer = EMPTY;
  private readingPaused = false;
  private closing = false;
  /** Closed on our side, waiting for the client's close (lingerUntilClosed). */
  private lingering = false;
  /** A head parsed in this execute, judged once the execute returns without a framing error. */
  private unjudged: Http1Exchange | undefined;
  /** Until the first bytes tell HTTP/1.1 from the HTTP/2 preface (prior knowledge, RFC 9113 §3.3). */
  private isFirstRead = true;
  private handedOver = false;
  /** Set while a read is parsed: a piece of it is still referenced (queued, held, pending). */
  private isReadKept = false;
  /** A WebSocket's tunnel reads `data` events: reads into the shared buffer go to it as copies. */
  private isRelayed = false;
  /** Set once the socket reads into a buffer of ours: `readInto` gets the bytes. */
  private reads: ReadBuffer | undefined;
  /** `https` on a TLS socket: what X-Forwarded-Proto says. */
  readonly protocol: string;

  constructor(
    readonly socket: Socket,
    private readonly host: ConnectionHost,
    /**
     * A plain-TCP socket, which may read into a buffer of ours (`onread`) once it uploads in bulk.
     * No default: a port that forwards uploads and forgets it holds a 64 KiB buffer per read for
     * the collector (the streaming peak grew by ~75 MiB when the proxy port lost it once).
     */
    private mayOwnReads: boolean,
  ) {
    super(TYPE_REQUEST);
    this.headStartedAt = performance.now();
    this.protocol = (socket as Socket & { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    socket.on('drain', () => this.exchange?.clientDrained());
    socket.on('error', () => {}); // a reset client is an ordinary close
    socket.on('close', () => this.closed());
    socket.on('end', this.peerEnded);
  }

  /** From the next read on, reads land in a buffer of this connection's, reused from read to read. */
  private ownReads(): void {
    const reads = new ReadBuffer();
    const taken = readIntoOwnBuffer(this.socket, reads.next, (nread, buffer) => {
      this.readInto(nread, buffer);
      return true; // backpressure pauses the socket itself (pauseReading)
    });
    if (taken) this.reads = reads;
  }

  /**
   * `onread`'s callback: a read landed in the connection's buffer. An upload flows through it without
   * a new buffer per read (64 KiB each, left for the collector: the upload half of the streaming
   * peak); a read of which a piece stays referenced keeps its buffer, and the next reads get a
   * new one.
   */
  readInto(nread: number, buffer: Buffer): void {
    const chunk = buffer.subarray(0, nread);
    if (this.isRelayed || this.handedOver) return void this.socket.emit('data', Buffer.from(chunk));
    this.isReadKept = false;
    this.feed(chunk);
    if (this.isReadKept || this.isRelayed || this.handedOver) {
      this.isReadKept = false;
      this.reads?.lend();
    }
  }

  /** Half-closed: answer what was asked, then close (as node:http does with allowHalfOpen off). */
  private readonly peerEnded = (): void => {
    if (this.exchange === undefined) this.socket.end();
    else this.closing = true;
  };

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /** Idle: no request in progress and none half-read, so shutdown may close it at once. */
  get isIdle(): boolean {
    return this.exchange === undefined && !this.inHead;
  }

  write(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  writeChunk(data: Buffer): boolean {
    return writeChunk(this.socket, data);
  }

  /** Nothing waits to be written and the socket is not corked: a write now is tried on the socket at once. */
  isFlushed(): boolean {
    return this.socket.writableLength === 0 && this.socket.writableCorked === 0;
  }

  /**
   * Holds writes until the end of this tick, so a response whose head, body and end arrive in one
   * upstream read leaves in one writev instead of a syscall each.
   */
  corkThisTick(): void {
    if (this.socket.writableCorked > 0) return; // corked already this tick
    this.socket.cork();
    process.nextTick(uncork, this.socket);
  }

  pauseReading(): void {
    this.readingPaused = true;
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    if (!this.waiting) this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Cuts the connection with a TCP reset: a body delimited by the connection's close (HTTP/1.0,
   * or no length) must not look complete, which an orderly FIN would make it.
   */
  cut(): void {
    this.socket.resetAndDestroy();
  }

  /** Shutdown: close once the current response is written (or now, when idle). */
  closeWhenDone(): void {
    this.closing = true;
    // A WebSocket has no end of its own to wait for: it is closed with 1001 now.
    this.exchange?.goingAway();
    if (this.isIdle) this.socket.end();
  }

  /** A head that took longer than the headers timeout: 408, and close (as node:http does). */
  timedOut(): void {
    if (this.socket.writable) this.socket.end(bareResponse(408));
    this.socket.destroy();
  }

  private feed(chunk: Buffer): void {
    if (this.isFirstRead && this.sniff(chunk)) return;
    if (this.closing && this.exchange === undefined) return; // answered and closing: read nothing more
    if (this.waiting) {
      // A pipelined request behind one still being answered: keep it, read no more for now.
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      this.isReadKept = true;
      this.socket.pause();
      return;
    }
    let data = chunk;
    for (;;) {
      this.executing = true;
      const result = this.execute(data);
      this.executing = false;
      if (result.kind === 'error') return this.parseError();
      // llhttp checks Transfer-Encoding and the body's framing after it reports the head, so a
      // head is judged only once the execute that parsed it has found no fault.
      const exchange = this.unjudged;
      if (exchange !== undefined) {
        this.unjudged = undefined;
        this.host.handle(exchange);
      }
      if (result.kind === 'ok') return;
      // Paused at the end of a request.
      if (this.exchange !== undefined || this.socket.destroyed) {
        this.waiting = true;
        this.pausedUpgrade = result.upgrade;
        this.pending = result.rest;
        if (result.rest.length > 0) {
          this.isReadKept = true;
          this.socket.pause();
        }
        return;
      }
      // Its response is already written (a refusal answered at once): go on with the next one.
      if (this.closing) return void this.socket.end();
      this.resume(result.upgrade);
      if (result.rest.length === 0) return;
      data = result.rest;
    }
  }

  /**
   * The first read only: a connection that opens with the HTTP/2 preface is handed, bytes and
   * all, to the host's HTTP/2 server. Returns true when the chunk was taken (handed over, or held
   * as the start of a preface sent in pieces). Later reads never come here, so a preface after an
   * HTTP/1.1 request is parsed as HTTP/1.1 and refused with 400.
   */
  private sniff(chunk: Buffer): boolean {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const seen = prefaceOf(data);
    if (seen === 'more') {
      this.pending = data;
      this.isReadKept = true;
      return true;
    }
    this.isFirstRead = false;
    this.pending = EMPTY;
    if (seen === 'yes' && this.host.http2Preface !== undefined) {
      const socket = this.socket;
      // Ours only: net.Socket keeps an 'end' listener of its own (allowHalfOpen).
      socket.removeAllListeners('data');
      socket.removeAllListeners('drain');
      socket.removeListener('end', this.peerEnded);
      this.handedOver = true;
      this.headStartedAt = 0;
      this.free();
      this.host.closed(this);
      if (this.host.http2Preface(socket, data)) return true;
      socket.destroy();
      return true;
    }
    if (data === chunk) return false;
    this.feed(data);
    return true;
  }

  private parseError(): void {
    // A request that cannot be framed safely gets a bare answer and the connection closes:
    // nothing after it can be trusted to start where the parser would think.
    const status = this.overflow ? 431 : 400; // ERROR_USER comes from the byte count only
    if (this.unjudged !== undefined) {
      // Never judged, never counted: the request is refused as unparseable.
      this.unjudged = undefined;
      this.exchange = undefined;
    }
    const exchange = this.exchange;
    if (exchange !== undefined && !exchange.isDone) {
      // The head was fine but the body's framing was not (a bad chunk size): the upstream request
      // is aborted, and the client gets its 400 if no response has begun.
      this.exchange = undefined;
      if (!exchange.badFraming()) return void this.socket.destroy();
    }
    if (this.socket.writable) this.socket.end(bareResponse(status));
    this.socket.destroy();
  }

  /** True once shutdown began: the response in progress is the connection's last. */
  get isDraining(): boolean {
    return this.host.draining;
  }

  /** Called by the exchange when its response is written whole. */
  exchangeEnded(exchange: Http1Exchange): void {
    if (exchange !== this.exchange) return;
    this.exchange = undefined;
    if (!exchange.keepAlive || this.closing || !exchange.requestComplete) {
      // Nothing more is read from this connection: an unread body must not be taken for a request.
      this.closing = true;
      this.socket.end();
      this.lingerUntilClosed();
      return;
    }
    this.headStartedAt = 0;
    // Reading held back for this exchange's body (or its queue) is over with it.
    if (this.readingPaused) {
      this.readingPaused = false;
      if (!this.waiting) this.socket.resume();
    }
    if (this.executing || !this.waiting) return; // the feed loop (or the next chunk) goes on
    this.waiting = false;
    this.resume(this.pausedUpgrade);
    const rest = this.pending;
    this.pending = EMPTY;
    this.socket.resume();
    if (rest.length > 0) this.feed(rest);
  }

  /**
   * After our FIN, what the client still sends is read and dropped (feed reads nothing once
   * closing) until its own close, as RFC 9112 §9.6 asks of a server that closes with a body
   * unread: a reset now could reach the client before it has read the answer. Reading held back
   * for that body must resume, or the client's FIN is never seen and the socket, this object and
   * the file descriptor stay for the life of the process (one per refused upload). A client that
   * does not close within LINGER_MS is closed.
   */
  private lingerUntilClosed(): void {
    if (this.lingering) return;
    this.lingering = true;
    this.readingPaused = false;
    this.pending = EMPTY;
    this.socket.resume();
    const timer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  private closed(): void {
    if (this.handedOver) return;
    this.free();
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.clientClosed();
    this.host.closed(this);
  }

  // llhttp callbacks (request mode).

  onMessageBegin(): number {
    this.inHead = true;
    this.url = '';
    this.fields.take();
    this.headerBytes = 0;
    if (this.headStartedAt === 0) this.headStartedAt = performance.now();
    return 0;
  }

  onUrl(chunk: Buffer, start: number, end: number): number {
    this.url += chunk.toString('latin1', start, end);
    return this.count(end - start);
  }

  onHeaderField(chunk: Buffer, start: number, end: number): number {
    if (!this.inHead) return 0; // trailer fields of a chunked upload: not forwarded
    this.fields.name(chunk, start, end);
    return this.count(end - start);
  }

  onHeaderValue(chunk: Buffer, start: number, end: number): number {
    if (!this.inHead) return 0;
    this.fields.value(chunk, start, end);
    return this.count(end - start);
  }

  private count(bytes: number): number {
    this.headerBytes += bytes;
    if (this.headerBytes <= MAX_HEADER_BYTES) return 0;
    this.overflow = true;
    return ERROR_USER;
  }

  /**
   * The exchange's upstream answered its upgrade with 101: from here the connection is a
   * WebSocket, its bytes relayed as they come. The parser is done with it; bytes the client sent
   * after the head (held while the upgrade was decided) go first.
   */
  startTunnel(upstream: Socket, upstreamRest: Buffer, owner: TunnelOwner): Tunnel {
    const socket = this.socket;
    socket.removeAllListeners('data');
    socket.removeAllListeners('drain');
    // Only ours: net.Socket keeps an 'end' listener of its own.
    socket.removeListener('end', this.peerEnded);
    const clientRest = this.pending;
    this.pending = EMPTY;
    this.waiting = false;
    this.isRelayed = true;
    return new Tunnel(socket, upstream, clientRest, upstreamRest, owner);
  }

  onHeadersComplete(_status: number, upgrade: boolean, keepAlive: boolean): number {
    this.inHead = false;
    this.headStartedAt = 0;
    const raw = this.fields.take();
    trimValues(raw);
    const head: RequestHead = {
      method: this.method(),
      url: this.url,
      rawHeaders: raw,
      httpMinor: this.httpMinor(),
      keepAlive: false,
      body: 'none',
      expectation: 'none',
      host: undefined,
      connectionHeader: undefined,
      requestIdHeader: undefined,
      upgrade: 'none',
    };
    // One pass over the fields for everything the connection and the pipeline read by name;
    // lengths first, since most fields are none of these.
    let expect: string | undefined;
    let upgradeTo: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const length = name.length;
      if (length !== 17 && length !== 14 && length !== 12 && length !== 10 && length !== 7 && length !== 6 && length !== 4) continue;
      const lower = name.toLowerCase();
      if (lower === 'transfer-encoding') head.body = 'chunked';
      else if (lower === 'content-length') {
        if (head.body === 'none' && raw[i + 1] !== '0') head.body = 'length';
      } else if (lower === 'x-request-id') head.requestIdHeader ??= raw[i + 1];
      else if (lower === 'connection') head.connectionHeader ??= raw[i + 1];
      else if (lower === 'expect') expect = expect === undefined ? raw[i + 1] : `${expect}, ${raw[i + 1]}`;
      else if (lower === 'host') head.host ??= raw[i + 1];
      else if (lower === 'upgrade') upgradeTo = upgradeTo === undefined ? raw[i + 1] : `${upgradeTo}, ${raw[i + 1]}`;
    }
    const major = this.httpMajor();
    // Answer and close: RFC 9112 §6.1, Transfer-Encoding in an HTTP/1.0 request may be a framing
    // trick; and a version other than 1.x (llhttp reads `HTTP/2.0` as a request line too), as
    // node:http does.
    head.keepAlive = keepAlive && !this.closing && !(head.httpMinor === 0 && head.body === 'chunked') && major === 1;
    // RFC 9110 §10.1.1: 100-continue is the one expectation; any other gets 417. Only HTTP/1.1
    // has Expect (node:http ignores it on other versions, and so do we).
    if (expect !== undefined && major === 1 && head.httpMinor === 1) head.expectation = CONTINUE.test(expect) ? 'continue' : 'unsupported';
    // llhttp reports an upgrade when Connection names it and Upgrade is present (and for CONNECT,
    // which the pipeline refuses). Only a GET to a WebSocket is relayed (RFC 6455 §4.1); any other
    // protocol, h2c included, is refused. Either way the connection is not reused after it.
    if (upgrade && head.method !== 'CONNECT') {
      head.upgrade = isWebSocketHandshake(head, upgradeTo) ? 'websocket' : 'other';
      head.keepAlive = false;
    }
    const exchange = this.host.open(this, head);
    this.exchange = exchange;
    this.unjudged = exchange;
    return HEADERS_GO_ON;
  }

  onBody(chunk: Buffer, start: number, end: number): number {
    if (this.exchange?.requestData(chunk.subarray(start, end)) === true) this.isReadKept = true;
    if (this.mayOwnReads && this.reads === undefined && chunk.length >= BULK_READ_BYTES && !this.isRelayed && !this.handedOver) {
      this.mayOwnReads = false; // tried once
      this.ownReads();
    }
    return 0;
  }

  onMessageComplete(): number {
    this.exchange?.requestEnded();
    return ERROR_PAUSED;
  }
}
