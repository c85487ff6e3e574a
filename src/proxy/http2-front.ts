import {
  type ClientHttp2Stream,
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { DecisionStep } from '../auth/decide.js';
import type { Verdict } from '../auth/verdict.js';
import type { Clock } from '../clock.js';
import type { LiveRegistry } from '../exchange/core.js';
import { ProxyLedger } from '../exchange/ledgers.js';
import { PROBLEMS } from '../http/problems.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Tracing } from '../tracing/tracing.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import type { GrpcUpstream } from './grpc-upstream.js';
import { HeaderBlockDeadline } from './header-block-deadline.js';
import { upstreamHeaders } from './headers.js';
import { type ClientPeer, StreamExchange } from './http2-exchange.js';
import { streamHead } from './http2-headers.js';
import type { UpstreamPool } from './upstream-pool.js';

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
  clock: Clock;
  /** The registry of open exchanges each allowed stream joins until it ends; absent: none is kept. */
  live?: LiveRegistry | undefined;
  /** Where exchanges start their spans (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
  /** Usage history (docs/usage.md): each forwarded exchange's bytes are counted here when it ends. */
  usage?: UsageRecorder;
}

/** A session that closed before its stream was handled: nothing is known of its peer. */
const UNKNOWN_PEER: ClientPeer = Object.freeze({ remoteAddress: undefined, protocol: 'http' });

/** Streams one connection may have open at once (RFC 9113 §6.5.2 SETTINGS_MAX_CONCURRENT_STREAMS). */
const MAX_CONCURRENT_STREAMS = 128;

/**
 * HTTP/2 on the proxy port, behind the same listener as HTTP/1.1: a `node:http2` server that never
 * listens itself but is handed sockets, TLS ones that chose `h2` by ALPN and cleartext ones that
 * opened with the HTTP/2 preface. Each stream runs the HTTP/1.1 pipeline's steps with the same
 * decision step, refusals and metrics, then goes to the HTTP/1.1 upstream pool (as nginx does) or,
 * for a gRPC call, to the gRPC upstream over h2c.
 */
export class Http2Front {
  readonly server: Http2Server;
  /** Open connections, each with what its streams read of it (read once, not per stream). */
  private readonly sessions = new Map<Http2Session, ClientPeer>();
  private readonly headerBlocks: HeaderBlockDeadline;
  /** Counts and logs every stream, in the proxy port's shape. */
  readonly ledger: ProxyLedger;

  constructor(private readonly options: Http2FrontOptions) {
    this.ledger = new ProxyLedger(options, options.live);
    this.headerBlocks = new HeaderBlockDeadline(options.headersTimeoutMs);
    // Header blocks up to twice HTTP/1.1's 16 KiB: HPACK counts 32 bytes more per field. Beyond,
    // nghttp2 refuses the stream; the decision step still refuses more than 200 fields with 431.
    this.server = createServer({ maxHeaderListPairs: 256, settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: 32 * 1024 } });
    this.server.on('session', (session: ServerHttp2Session) => {
      const socket = session.socket;
      this.sessions.set(session, { remoteAddress: socket?.remoteAddress, protocol: session.encrypted ? 'https' : 'http' });
      this.headerBlocks.track(session);
      session.on('error', () => {}); // a peer's protocol error ends its session; nothing to report
      session.on('close', () => this.sessions.delete(session));
    });
    this.server.on('stream', (stream: ServerHttp2Stream, _headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
      this.handle(stream, rawHeaders),
    );
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
    const closing = [...this.sessions.keys()].map(
      (session) => new Promise<void>((resolve) => (session.closed ? resolve() : session.once('close', () => resolve()))),
    );
    for (const session of this.sessions.keys()) session.close();
    return Promise.all(closing).then(() => undefined);
  }

  /** The grace period is over. */
  closeAll(): void {
    for (const session of this.sessions.keys()) session.destroy();
  }

  /** The listener closed: no more sweeps. */
  stop(): void {
    this.headerBlocks.stop();
  }

  private handle(stream: ServerHttp2Stream, rawHeaders: string[]): void {
    this.headerBlocks.handedOver(stream);
    const exchange = new StreamExchange(stream, streamHead(rawHeaders), this.ledger, this.sessions.get(stream.session!) ?? UNKNOWN_PEER);
    exchange.begin(exchange.requestIdHeader);
    const verdict = this.options.decisions.decide(exchange);
    if (verdict instanceof Promise) void verdict.then((settled) => this.render(exchange, settled));
    else this.render(exchange, verdict);
  }

  /** The verdict, answered: forwarded, or refused as on HTTP/1.1 (or with its gRPC status); nothing when the client left meanwhile. */
  private render(exchange: StreamExchange, verdict: Verdict): void {
    if (exchange.isDone) {
      if (verdict.allowed) verdict.limited?.streamEnded();
      return;
    }
    if (!verdict.allowed) return exchange.refused(verdict);
    const options = this.options;
    exchange.allowed(verdict);
    const headers = upstreamHeaders(exchange.rawHeaders, undefined, {
      forwardAuthorization: options.forwardAuthorization,
      requestId: exchange.requestId,
      remoteAddress: exchange.remoteAddress,
      protocol: exchange.protocol,
      identity: exchange.identity,
    });
    exchange.upstreamRequest(headers);
    exchange.forwarded();
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
      return exchange.unreachable({ ...PROBLEMS.upstream_unreachable, detail: 'No gRPC upstream is configured (proxy.grpcUpstream).' });
    }
    // A flat name/value list, as node:http2 takes it: no header object to build, copy and walk.
    const out: string[] = [':method', exchange.method, ':path', exchange.path, ':scheme', 'http', ':authority', exchange.authority ?? grpc.authority];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length === 4 && name.toLowerCase() === 'host') continue; // it is :authority in HTTP/2
      out.push(name, headers[i + 1]!);
    }
    // gRPC servers may refuse a call without it (PROTOCOL-HTTP2.md); it is hop-by-hop, so dropped above.
    out.push('te', 'trailers');
    let call: ClientHttp2Stream;
    try {
      call = grpc.request(out);
    } catch {
      // node:http2 refuses to send a field that takes one value (content-type, ...) twice, which
      // a client may have sent: the call is refused as malformed, not thrown out of the stream event.
      return exchange.malformed({ ...PROBLEMS.invalid_request, detail: 'A header field that takes one value came more than once.' });
    }
    exchange.relayCall(call);
  }
}
