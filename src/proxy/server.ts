import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { authorize } from '../auth/authorize.js';
import { authenticate, type Authentication } from '../auth/authenticate.js';
import { DENIALS, type DenyReason, type Outcome } from '../auth/decision.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import { checkTarget } from '../auth/paths.js';
import { rightFor, type RouteMatch, type RouteTable } from '../auth/routes.js';
import type { TokenCache } from '../auth/token-cache.js';
import { sendProblem } from '../http/problem.js';
import { requestIdFor } from '../http/request-id.js';
import type { Logger } from '../log/logger.js';
import { redactTarget } from '../log/redact.js';
import type { Metrics, RightLabel } from '../metrics/metrics.js';
import type { Right } from '../tokens/record.js';
import { Exchange, ProxyResponse, type ExchangeSink } from './exchange.js';
import { upstreamHeaders, type ForwardIdentity } from './headers.js';
import { IdleSweeper } from './idle-sweeper.js';

export interface ProxyOptions {
  upstream: Dispatcher;
  cache: TokenCache;
  routes: RouteTable;
  lastUsed: LastUsedRecorder;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  forwardAuthorization: boolean;
  accessLog: boolean;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  upstreamHeadersTimeoutMs: number;
  upstreamIdleTimeoutMs: number;
}

/** Longest request target accepted (RFC 9112 §3 recommends supporting at least 8000 octets). */
const MAX_TARGET_LENGTH = 8192;

/**
 * Most header fields accepted, counted in `handle` so the refusal carries its problem body. The
 * parser itself gets no count limit (`maxHeadersCount` 0): Node 20 silently dropped fields past
 * it, and Node 24.18.1 on (CVE-2026-58044) rejects such a request inside the parser, which only
 * reaches `clientError` as a bare 431 that cannot be told from an oversized header. The parser's
 * 16 KiB header size limit still bounds how many fields one request can carry (about 4000).
 */
const MAX_HEADER_FIELDS = 200;

/** The RFC 6750 challenge header of each refusal that has one, built once. */
const CHALLENGES: Partial<Record<DenyReason, Record<string, string>>> = Object.fromEntries(
  Object.entries(DENIALS)
    .filter(([, denial]) => denial.challenge)
    .map(([reason, denial]) => [reason, { 'www-authenticate': denial.challenge! }]),
);

/** Seconds a client should wait before retrying after a 503 from a store outage. */
const RETRY_AFTER = { 'retry-after': '1' };

const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/**
 * The data-plane server (SPEC §3). Each request runs the pipeline
 * check target -> match route -> authenticate -> authorize -> forward; every refusal goes
 * through one function that maps the reason to its status and problem body.
 */
export class ProxyServer implements ExchangeSink {
  readonly server: Server<typeof IncomingMessage, typeof ProxyResponse>;
  private readonly options: ProxyOptions;
  private isDraining = false;

  /** ExchangeSink: whether shutdown has begun. */
  get draining(): boolean {
    return this.isDraining;
  }

  constructor(options: ProxyOptions) {
    this.options = options;
    this.server = createServer({
      ServerResponse: ProxyResponse,
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: 0,
      // Node checks the headers timeout on this interval (30 s by default), which would let a
      // slowloris client hold a connection up to 30 s past the timeout.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, options.headersTimeoutMs / 2)),
    });
    // Beyond this many connections new ones are closed at once (a flood cannot exhaust sockets).
    this.server.maxConnections = options.maxConnections;
    // Not `server.timeout`, which re-arms a timer on every socket read and write: see IdleSweeper.
    const idle = new IdleSweeper(options.idleTimeoutMs, options.clock);
    this.server.on('connection', (socket: Socket) => idle.track(socket));
    this.server.on('close', () => idle.stop());
    this.server.maxHeadersCount = 0;
    this.server.on('request', (req, res) => this.handle(req, res, false));
    // Answer Expect: 100-continue only after the token is checked, so a refused upload sends no body.
    this.server.on('checkContinue', (req, res) => this.handle(req, res, true));
    // CONNECT would make Tollgate a tunnel; nothing routes it, so it is refused and closed.
    this.server.on('connect', (_req, socket) => {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
  }

  /**
   * Shutdown began: stop accepting, close idle connections, and close each busy one after its
   * response. Resolves when the last connection has closed.
   */
  drain(): Promise<void> {
    this.isDraining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    return closed;
  }

  private handle(req: IncomingMessage, res: ProxyResponse, expectsContinue: boolean): void {
    const started = performance.now();
    if (this.isDraining) res.shouldKeepAlive = false;
    const { metrics, cache, clock } = this.options;
    metrics.requestStarted();
    // Set on the response by writeHead (forwarded) or sendProblem (refused), not here: an early
    // setHeader makes Node merge two header sets on every response.
    const requestId = requestIdFor(req.headers['x-request-id']);

    const url = req.url ?? '';
    if (url.length > MAX_TARGET_LENGTH) return this.refuse(req, res, requestId, 'uri_too_long', 'none', started);
    if (req.rawHeaders.length > 2 * MAX_HEADER_FIELDS) return this.refuse(req, res, requestId, 'too_many_headers', 'none', started);
    const target = checkTarget(url);
    if (target === undefined) return this.refuse(req, res, requestId, 'bad_target', 'none', started);
    const match = this.options.routes.match(target);
    const method = req.method ?? 'GET';

    if (match?.route.isPublic) {
      const right = rightFor(match.route, method);
      if (right === undefined) return this.refuse(req, res, requestId, 'method_not_allowed', 'none', started);
      return this.forward(req, res, requestId, target, undefined, right, expectsContinue, started);
    }

    const identity = authenticate(req.rawHeaders, cache, clock.now());
    if (identity instanceof Promise) {
      // Cache miss: the only path that waits, and the only one that allocates a promise.
      identity.then(
        (settled) => this.authorized(req, res, requestId, target, match, settled, expectsContinue, started),
        () => this.refuse(req, res, requestId, 'store_unavailable', 'none', started),
      );
      return;
    }
    this.authorized(req, res, requestId, target, match, identity, expectsContinue, started);
  }

  private authorized(
    req: IncomingMessage,
    res: ProxyResponse,
    requestId: string,
    target: string,
    match: RouteMatch | undefined,
    identity: Authentication,
    expectsContinue: boolean,
    started: number,
  ): void {
    if (typeof identity === 'string') return this.refuse(req, res, requestId, identity, 'none', started);
    if (match === undefined) return this.refuse(req, res, requestId, 'no_route', 'none', started);
    const right = rightFor(match.route, req.method ?? 'GET');
    if (right === undefined) return this.refuse(req, res, requestId, 'method_not_allowed', 'none', started);
    const now = this.options.clock.now();
    const decision = authorize(identity, right, match.repository, now);
    if (!decision.allowed) return this.refuse(req, res, requestId, decision.reason, right, started);

    const record = identity.record;
    this.options.lastUsed.record(record.id, now, req);
    const forwarded: ForwardIdentity = { tokenId: record.id, repository: decision.repository, user: record.user, right };
    return this.forward(req, res, requestId, target, forwarded, right, expectsContinue, started);
  }

  private forward(
    req: IncomingMessage,
    res: ProxyResponse,
    requestId: string,
    path: string,
    identity: ForwardIdentity | undefined,
    right: Right,
    expectsContinue: boolean,
    started: number,
  ): void {
    const options = this.options;
    if (res.destroyed) {
      // The client left while its token was being looked up: nothing to forward.
      options.metrics.requestAbandoned();
      return;
    }
    if (expectsContinue) res.writeContinue();
    const headers = upstreamHeaders(req.rawHeaders, req.headers.connection, {
      forwardAuthorization: options.forwardAuthorization,
      requestId,
      remoteAddress: req.socket.remoteAddress,
      protocol: 'http',
      identity,
    });
    const exchange = new Exchange(req, res, requestId, right, identity, started, this);
    const declared = Number(req.headers['content-length']);
    if (declared > 0) exchange.requestBytes = declared;
    options.upstream.dispatch(
      {
        path,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: hasBody(req) ? req : null,
        headersTimeout: options.upstreamHeadersTimeoutMs,
        bodyTimeout: options.upstreamIdleTimeoutMs,
      },
      exchange,
    );
  }

  /** ExchangeSink: an exchange ended. */
  finished(exchange: Exchange, outcome: Outcome, status: number): void {
    const { metrics } = this.options;
    if (this.isDraining && exchange.res.shouldKeepAlive) exchange.res.once('finish', () => exchange.res.socket?.end());
    const { right, identity } = exchange;
    const seconds = (performance.now() - exchange.started) / 1000;
    metrics.request(right, outcome, seconds);
    metrics.forwarded(exchange.upstreamSeconds, exchange.req.complete ? exchange.requestBytes : 0, exchange.responseBytes);
    if (this.options.accessLog) {
      this.options.logger.info({
        requestId: exchange.requestId,
        method: exchange.req.method,
        path: redactTarget(exchange.req.url ?? ''),
        status,
        right,
        outcome,
        tokenId: identity?.tokenId,
        ms: Math.round(seconds * 1000 * 100) / 100,
        bytesIn: exchange.requestBytes,
        bytesOut: exchange.responseBytes,
      });
    }
  }

  /** ExchangeSink: the upstream failed. */
  upstreamFailed(reason: 'refused' | 'reset' | 'timeout' | 'other'): void {
    this.options.metrics.upstreamError(reason);
  }

  private refuse(req: IncomingMessage, res: ProxyResponse, requestId: string, reason: DenyReason, right: RightLabel, started: number): void {
    const denial = DENIALS[reason];
    // An unread upload must not be read as the next request: close the connection instead.
    if (hasBody(req)) res.shouldKeepAlive = false;
    const headers = reason === 'store_unavailable' ? RETRY_AFTER : denial.challenge ? CHALLENGES[reason] : undefined;
    sendProblem(res, { status: denial.status, type: denial.type, title: denial.title, detail: denial.detail }, requestId, headers);
    const seconds = (performance.now() - started) / 1000;
    this.options.metrics.request(right, denial.outcome, seconds);
    if (this.options.accessLog) {
      this.options.logger.info({ requestId, method: req.method, path: redactTarget(req.url ?? ''), status: denial.status, right, outcome: denial.outcome, reason });
    }
  }
}
