import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import type { DecisionStep } from '../auth/decide.js';
import { refusal, type Verdict } from '../auth/verdict.js';
import type { Clock } from '../clock.js';
import type { LiveRegistry } from '../exchange/core.js';
import { ProxyLedger } from '../exchange/ledgers.js';
import { ClientConnection, type ConnectionHost } from '../http1/client-connection.js';
import { ConnectionSet } from '../http1/connection-set.js';
import { IdleSweeper } from '../http1/idle-sweeper.js';
import type { RequestHead } from '../http1/request-head.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Tracing } from '../tracing/tracing.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import { Exchange } from './exchange.js';
import { upstreamHeaders } from './headers.js';
import type { Http2Front } from './http2-front.js';
import type { UpstreamPool } from './upstream-pool.js';

/** What a configuration reload may set on the proxy port while it serves. */
export type ProxySettings = Pick<ProxyOptions, 'upstream' | 'forwardAuthorization' | 'accessLog' | 'headersTimeoutMs' | 'idleTimeoutMs' | 'maxConnections'>;

export interface ProxyOptions {
  upstream: UpstreamPool;
  /** The decision step this port shares with the decision port. */
  decisions: DecisionStep;
  /** Exchanges in flight by token, ended when their token stops allowing them. */
  live: LiveRegistry;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  forwardAuthorization: boolean;
  accessLog: boolean;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  /** Certificate and key: the port speaks TLS (1.2+, ALPN h2 and http/1.1). */
  /** Certificate and key; with identity.mtls also the client CA, requestCert and rejectUnauthorized. */
  tls?: TlsOptions;
  /** Takes HTTP/2 connections: ALPN h2 on TLS, the preface in cleartext. */
  http2?: Http2Front;
  /** Where exchanges start their spans (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
  /** Usage history (docs/usage.md): each forwarded exchange's bytes are counted here when it ends. */
  usage?: UsageRecorder;
}

/**
 * The data plane (docs/data-plane.md) on sockets it owns: `node:net` in front, llhttp framing each request
 * (client-connection.ts), Tollgate's own keep-alive pool behind (upstream-pool.ts). Each request
 * is one Exchange and runs top to bottom:
 *   parse (the connection) -> check the target -> route -> authenticate -> authorize -> forward,
 * the middle four in the decision step every port shares (auth/decide.ts); every refusal goes
 * through `refused`, which maps the reason to its status and problem body.
 */
export class ProxyServer implements ConnectionHost {
  readonly server: Server;
  private readonly options: ProxyOptions;
  private readonly connections: ConnectionSet;
  private readonly idle: IdleSweeper;
  /** Counts and logs every exchange on this port, HTTP/2 streams included, and keeps the registry of open ones. */
  readonly ledger: ProxyLedger;

  get draining(): boolean {
    return this.connections.draining;
  }

  constructor(options: ProxyOptions) {
    this.options = options;
    this.ledger = new ProxyLedger(options, options.live);
    this.connections = new ConnectionSet(options.headersTimeoutMs);
    const tls = options.tls;
    this.server =
      tls === undefined
        ? createServer({ noDelay: true })
        : createTlsServer({
            ...tls,
            noDelay: true,
            ALPNProtocols: options.http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
            // A handshake that never completes is a slowloris before the head: the same bound.
            handshakeTimeout: options.headersTimeoutMs,
          });
    // Beyond this many connections new ones are closed at once (a flood cannot exhaust sockets).
    this.server.maxConnections = options.maxConnections;
    const idle = new IdleSweeper(options.idleTimeoutMs, options.clock);
    this.idle = idle;
    const http2 = options.http2;
    this.server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
      idle.track(socket);
      if (http2 !== undefined && (socket as TLSSocket).alpnProtocol === 'h2') return http2.accept(socket);
      // Plain TCP may read into a buffer of its own once it uploads in bulk (client-connection.ts, ownReads).
      this.connections.add(new ClientConnection(socket, this, tls === undefined));
    });
    // A TLS handshake that fails is the client's problem; the server keeps going.
    if (tls !== undefined) this.server.on('tlsClientError', () => {});
    this.server.on('close', () => {
      idle.stop();
      this.connections.stop();
      http2?.stop();
    });
  }

  /**
   * Takes reloaded settings: each request forwarded from now on reads them (a new upstream pool
   * included); open connections and exchanges carry on.
   */
  apply(settings: ProxySettings): void {
    Object.assign(this.options, settings);
    this.connections.headersTimeoutMs = settings.headersTimeoutMs;
    this.idle.idleMs = settings.idleTimeoutMs;
    this.server.maxConnections = settings.maxConnections;
  }

  now(): number {
    return this.options.clock.now();
  }

  /**
   * Shutdown began: stop accepting, close idle connections, and close each busy one after its
   * response. Resolves when the last connection (HTTP/2 sessions included) has closed.
   */
  drain(): Promise<void> {
    const closed = this.connections.drain(this.server);
    if (this.options.http2 !== undefined) return Promise.all([closed, this.options.http2.drain()]).then(() => undefined);
    return closed;
  }

  /** The grace period is over: every connection goes now. */
  closeAllConnections(): void {
    this.connections.closeAll();
    this.options.http2?.closeAll();
  }

  /** ConnectionHost: a cleartext connection opened with the HTTP/2 preface (prior knowledge). */
  http2Preface(socket: Socket, firstBytes: Buffer): boolean {
    if (this.options.http2 === undefined) return false;
    this.options.http2.accept(socket, firstBytes);
    return true;
  }

  /** ConnectionHost: each parsed head is an Exchange counted and logged by this port's ledger. */
  open(connection: ClientConnection, head: RequestHead): Exchange {
    return new Exchange(connection, head, this.ledger);
  }

  closed(connection: ClientConnection): void {
    this.connections.closed(connection);
  }

  /**
   * The pipeline, from a parsed head: what only HTTP/1.1 framing can get wrong is checked here,
   * then the shared decision step (target, route, token, right) answers through `allowed` or
   * `refused`. Synchronous on a cached token.
   */
  handle(exchange: Exchange): void {
    exchange.begin(exchange.requestIdHeader);
    if (exchange.expectation === 'unsupported') return exchange.refused(refusal('expectation_failed'));
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (node:http refuses it the same way).
    if (exchange.httpMinor >= 1 && exchange.host === undefined) return exchange.refused(refusal('bad_target'));
    if (exchange.upgrade === 'other') return exchange.refused(refusal('unsupported_upgrade'));
    const verdict = this.options.decisions.decide(exchange);
    if (verdict instanceof Promise) void verdict.then((settled) => this.render(exchange, settled));
    else this.render(exchange, verdict);
  }

  /** The verdict, answered: forwarded, or refused with its problem; nothing when the client left meanwhile. */
  private render(exchange: Exchange, verdict: Verdict): void {
    if (exchange.isDone) {
      if (verdict.allowed) verdict.limited?.streamEnded();
      return;
    }
    if (!verdict.allowed) return exchange.refused(verdict);
    exchange.allowed(verdict);
    this.forward(exchange);
  }

  private forward(exchange: Exchange): void {
    const options = this.options;
    const headers = upstreamHeaders(exchange.rawHeaders, exchange.connectionHeader, {
      forwardAuthorization: options.forwardAuthorization,
      requestId: exchange.requestId,
      remoteAddress: exchange.connection.remoteAddress,
      protocol: exchange.connection.protocol,
      identity: exchange.identity,
      guarded: options.decisions.decisionFields,
    });
    exchange.upstreamRequest(headers);
    // One string, one write: the request line and every field.
    let head = `${exchange.method} ${exchange.path} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    // Host passes as sent (no Connection option removes it); only an HTTP/1.0 request may lack one.
    if (exchange.host === undefined) head += `host: ${options.upstream.authority}\r\n`;
    if (exchange.body === 'chunked') head += 'transfer-encoding: chunked\r\n';
    // Both are hop-by-hop, dropped above; the upstream must see the upgrade asked of it.
    if (exchange.isUpgrade) head += 'connection: upgrade\r\nupgrade: websocket\r\n';
    exchange.requestHead = `${head}\r\n`;
    exchange.forwarded();
    options.upstream.dispatch(exchange);
  }
}
