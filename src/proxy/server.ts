import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import type { Clock } from '../clock.js';
import { workloadFields, type DecisionStep, type Verdicts } from '../auth/decide.js';
import { DENIALS, type DenyReason, type Outcome } from '../auth/decision.js';
import { requestIdFor } from '../http/request-id.js';
import type { Logger } from '../log/logger.js';
import { redactTarget } from '../log/redact.js';
import type { Metrics, RightLabel } from '../metrics/metrics.js';
import type { Right } from '../tokens/record.js';
import { ClientConnection, type ConnectionHost } from './client-connection.js';
import type { Http2Front } from './http2-front.js';
import type { Exchange } from './exchange.js';
import type { EndReason } from '../metrics/metrics.js';
import { upstreamHeaders } from './headers.js';
import { ConnectionSet } from './connection-set.js';
import { IdleSweeper } from './idle-sweeper.js';
import type { LiveExchanges } from './live-exchanges.js';
import type { UpstreamPool } from './upstream-pool.js';
import type { UpstreamFailure } from './upstream-errors.js';
import { NO_TRACING, type Tracing } from '../tracing/tracing.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';

/** What a configuration reload may set on the proxy port while it serves. */
export type ProxySettings = Pick<ProxyOptions, 'upstream' | 'forwardAuthorization' | 'accessLog' | 'headersTimeoutMs' | 'idleTimeoutMs' | 'maxConnections'>;

export interface ProxyOptions {
  upstream: UpstreamPool;
  /** The decision step this port shares with the decision port. */
  decisions: DecisionStep;
  /** Exchanges in flight by token, ended when their token stops allowing them. */
  live: LiveExchanges;
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
  /** TRACING: where exchanges start their spans (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
  /** Usage history (docs/usage.md): each forwarded exchange's bytes are counted here when it ends. */
  usage?: UsageRecorder;
}

/** The RFC 6750 challenge header of each refusal that has one, built once. */
const CHALLENGES: Partial<Record<DenyReason, Record<string, string>>> = Object.fromEntries(
  Object.entries(DENIALS)
    .filter(([, denial]) => denial.challenge)
    .map(([reason, denial]) => [reason, { 'www-authenticate': denial.challenge! }]),
);

/** Seconds a client should wait before retrying after a 503 from a store outage. */
const RETRY_AFTER = { 'retry-after': '1' };

/** The headers a refusal carries (the RFC 6750 challenge, Retry-After), whatever the protocol. */
export function refusalHeaders(reason: DenyReason): Readonly<Record<string, string>> | undefined {
  return DENIALS[reason].outcome === 'unavailable' ? RETRY_AFTER : CHALLENGES[reason];
}

/**
 * The data plane (docs/data-plane.md) on sockets it owns: `node:net` in front, llhttp framing each request
 * (client-connection.ts), Tollgate's own keep-alive pool behind (upstream-pool.ts). Each request
 * is one Exchange and runs top to bottom:
 *   parse (the connection) -> check the target -> route -> authenticate -> authorize -> forward,
 * the middle four in the decision step every port shares (auth/decide.ts); every refusal goes
 * through `refused`, which maps the reason to its status and problem body.
 */
export class ProxyServer implements ConnectionHost, Verdicts<Exchange> {
  readonly server: Server;
  private readonly options: ProxyOptions;
  private readonly connections: ConnectionSet;
  private readonly idle: IdleSweeper;
  private readonly tracing: Tracing;

  get draining(): boolean {
    return this.connections.draining;
  }

  constructor(options: ProxyOptions) {
    this.options = options;
    this.tracing = options.tracing ?? NO_TRACING;
    this.connections = new ConnectionSet(options.headersTimeoutMs);
    const tls = options.tls;
    this.server = tls === undefined ? createServer({ noDelay: true }) : createTlsServer({
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
      // Plain TCP: a connection that uploads in bulk reads into a buffer of its own from then on.
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

  closed(connection: ClientConnection): void {
    this.connections.closed(connection);
  }

  /**
   * The pipeline, from a parsed head: what only HTTP/1.1 framing can get wrong is checked here,
   * then the shared decision step (target, route, token, right) answers through `allowed` or
   * `refused`. Synchronous on a cached token.
   */
  handle(exchange: Exchange): void {
    this.options.metrics.requestStarted();
    // TRACING: the exchange's server span, its parent read from the client's traceparent.
    exchange.trace = this.tracing.startExchange(exchange.isUpgrade ? 'websocket' : 'http/1.1', exchange.method, exchange.rawHeaders);
    exchange.requestId = requestIdFor(exchange.requestIdHeader);
    if (exchange.expectation === 'unsupported') return this.refused(exchange, 'expectation_failed');
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (node:http refuses it the same way).
    if (exchange.httpMinor >= 1 && exchange.host === undefined) return this.refused(exchange, 'bad_target');
    if (exchange.upgrade === 'other') return this.refused(exchange, 'unsupported_upgrade');
    this.options.decisions.decide(exchange, this);
  }

  /** Verdicts: the request may pass. */
  allowed(exchange: Exchange, right: Right): void {
    this.options.metrics.decided(exchange.started);
    this.options.live.add(exchange);
    this.forward(exchange, right);
  }

  private forward(exchange: Exchange, right: Right): void {
    const options = this.options;
    exchange.right = right;
    const headers = upstreamHeaders(exchange.rawHeaders, exchange.connectionHeader, {
      forwardAuthorization: options.forwardAuthorization,
      requestId: exchange.requestId,
      remoteAddress: exchange.connection.remoteAddress,
      protocol: exchange.connection.protocol,
      identity: exchange.identity,
      guarded: options.decisions.decisionFields,
    });
    // TRACING: the upstream exchange's client span; its traceparent replaces the client's (which
    // passes as it came while tracing is off).
    exchange.trace.upstream(headers);
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

  /** ExchangeSink: a forwarded exchange ended. */
  finished(exchange: Exchange, outcome: Outcome, status: number): void {
    const { metrics } = this.options;
    this.options.live.remove(exchange);
    exchange.trace.finish(exchange, outcome, status); // TRACING
    const seconds = (performance.now() - exchange.started) / 1000;
    metrics.request(exchange.right, outcome, seconds, exchange.credential, exchange.liveProtocol);
    metrics.forwarded(exchange.upstreamSeconds, exchange.requestComplete ? exchange.requestBytes : 0, exchange.responseBytes);
    this.options.usage?.ended(exchange.token, exchange.requestBytes, exchange.responseBytes);
    if (this.options.accessLog) {
      this.options.logger.info({
        requestId: exchange.requestId,
        method: exchange.method,
        path: redactTarget(exchange.url),
        status,
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

  /** ExchangeSink: the client left before the exchange was forwarded. */
  abandoned(exchange: Exchange): void {
    this.options.live.remove(exchange);
    exchange.trace.finish(exchange, 'abandoned', 499); // TRACING
    this.options.metrics.requestAbandoned();
  }

  /** ExchangeSink: Tollgate cut an open exchange (a quota ran out mid-body). */
  exchangeCut(reason: EndReason): void {
    this.options.metrics.exchangeEnded(reason);
  }

  /** ExchangeSink: the upstream failed. */
  upstreamFailed(reason: UpstreamFailure['reason']): void {
    this.options.metrics.upstreamError(reason);
  }

  /** Verdicts: the request is refused; the reason maps to its status and problem body. */
  refused(exchange: Exchange, reason: DenyReason, right: RightLabel = 'none', extra?: Readonly<Record<string, string>>): void {
    if (exchange.isDone) return;
    const denial = DENIALS[reason];
    const headers = extra ?? (denial.outcome === 'unavailable' ? RETRY_AFTER : denial.challenge ? CHALLENGES[reason] : undefined);
    exchange.right = right;
    exchange.refused({ status: denial.status, type: denial.type, title: denial.title, detail: denial.detail }, headers);
    exchange.trace.finish(exchange, denial.outcome, denial.status, reason); // TRACING
    const seconds = (performance.now() - exchange.started) / 1000;
    this.options.metrics.request(right, denial.outcome, seconds, exchange.credential);
    if (this.options.accessLog) {
      this.options.logger.info({ requestId: exchange.requestId, method: exchange.method, path: redactTarget(exchange.url), status: denial.status, right, outcome: denial.outcome, reason, credential: exchange.credential });
    }
  }
}
