import { createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '../clock.js';
import { workloadFields, type DecisionStep, type Verdicts } from '../auth/decide.js';
import { DENIALS, type DenyReason } from '../auth/decision.js';
import { requestIdFor } from '../http/request-id.js';
import type { Logger } from '../log/logger.js';
import { redactTarget } from '../log/redact.js';
import type { Metrics, RightLabel } from '../metrics/metrics.js';
import { ClientConnection, type ConnectionHost } from '../proxy/client-connection.js';
import type { Exchange } from '../proxy/exchange.js';
import { ConnectionSet } from '../proxy/connection-set.js';
import { IdleSweeper } from '../proxy/idle-sweeper.js';
import type { Right } from '../tokens/record.js';
import { rateLimitField } from '../limits/ratelimit-fields.js';
import { allowedFields, refusalHeaders } from './answers.js';
import { Question, readQuestion } from './question.js';
import { NO_TRACING, type Tracing } from '../tracing/tracing.js';

/** What a configuration reload may set on the decision port while it serves. */
export type DecisionPortSettings = Pick<DecisionPortOptions, 'pathPrefix' | 'forwardAuthorization' | 'accessLog' | 'headersTimeoutMs' | 'idleTimeoutMs' | 'maxConnections'>;

export interface DecisionPortOptions {
  /** The same decision step instance the proxy port uses. */
  decisions: DecisionStep;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** `decision.pathPrefix`: what Envoy's ext_authz puts before the path it asks about. */
  pathPrefix: string;
  /** Whether an allowed answer tells Envoy to take Authorization off (the proxy port's default). */
  forwardAuthorization: boolean;
  accessLog: boolean;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  /** TRACING: where exchanges start their spans (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
}

/**
 * The decision port (docs/decision-api/README.md): a proxy in front (nginx `auth_request`, Traefik `forwardAuth`,
 * Caddy `forward_auth`, Envoy `ext_authz`) asks whether a request may pass, and gets 200 with
 * the identity headers, or the proxy port's refusal. The question is read from forwarded
 * headers (question.ts), then judged by the proxy port's own decision step.
 *
 * It runs on the proxy port's front (node:net + llhttp, proxy/client-connection.ts), not
 * node:http: a cached allowed answer costs what the proxy port's refusals cost (16.6 µs of CPU
 * against 17.3 µs for its 403 to a cached token), while a bare node:http server answering the
 * same 200 without any check already cost 17.7 µs (bench/decision-front.mjs,
 * docs/decision-api/README.md). The connection bookkeeping (head timeout, drain) is the proxy
 * port's ConnectionSet.
 */
export class DecisionServer implements ConnectionHost, Verdicts<Question> {
  readonly server: Server;
  private readonly options: DecisionPortOptions;
  private readonly connections: ConnectionSet;
  private readonly idle: IdleSweeper;

  constructor(options: DecisionPortOptions) {
    this.options = options;
    // Slowloris guard and shutdown, as on the proxy port.
    this.connections = new ConnectionSet(options.headersTimeoutMs);
    this.server = createServer({ noDelay: true });
    this.server.maxConnections = options.maxConnections;
    const idle = new IdleSweeper(options.idleTimeoutMs, options.clock);
    this.idle = idle;
    this.server.on('connection', (socket: Socket) => {
      idle.track(socket);
      this.connections.add(new ClientConnection(socket, this));
    });
    this.server.on('close', () => {
      idle.stop();
      this.connections.stop();
    });
  }

  /** Takes reloaded settings: questions judged from now on read them; no connection closes. */
  apply(settings: DecisionPortSettings): void {
    Object.assign(this.options, settings);
    this.connections.headersTimeoutMs = settings.headersTimeoutMs;
    this.idle.idleMs = settings.idleTimeoutMs;
    this.server.maxConnections = settings.maxConnections;
  }

  get draining(): boolean {
    return this.connections.draining;
  }

  now(): number {
    return this.options.clock.now();
  }

  /** Shutdown: stop accepting, close idle connections now and busy ones after their answer. */
  drain(): Promise<void> {
    return this.connections.drain(this.server);
  }

  /** The grace period is over: every connection goes now. */
  closeAllConnections(): void {
    this.connections.closeAll();
  }

  closed(connection: ClientConnection): void {
    this.connections.closed(connection);
  }

  /**
   * From a parsed head: what only HTTP/1.1 framing can get wrong, then which request is asked
   * about, then the shared decision step. Synchronous on a cached token.
   */
  handle(exchange: Exchange): void {
    // TRACING: the question's server span, its parent read from the asking proxy's traceparent.
    exchange.trace = (this.options.tracing ?? NO_TRACING).startExchange('decision', exchange.method, exchange.rawHeaders);
    exchange.requestId = requestIdFor(exchange.requestIdHeader);
    const asked = readQuestion(exchange, this.options.pathPrefix);
    const question = new Question(exchange, typeof asked === 'string' ? exchange : asked);
    if (exchange.expectation === 'unsupported') return this.refused(question, 'expectation_failed');
    if (exchange.httpMinor >= 1 && exchange.host === undefined) return this.refused(question, 'bad_target');
    if (typeof asked === 'string') return this.refused(question, asked);
    this.options.decisions.decide(question, this);
  }

  /** Verdicts: the request may pass; 200, empty, with who it runs as. */
  allowed(question: Question, right: Right): void {
    const exchange = question.exchange;
    if (exchange.isDone) {
      question.limited?.streamEnded(); // the asking proxy left: the slot goes back all the same
      return;
    }
    exchange.right = right;
    exchange.identity = question.identity;
    let fields = allowedFields(exchange.requestId, question.identity, !this.options.forwardAuthorization);
    const limited = question.limited;
    if (limited !== undefined) {
      // The request was counted against the token's rate; its stream slot is held only while
      // the question is answered (the body never passes here, so no bytes are counted). The
      // RateLimit fields go back for the proxy in front to pass on.
      fields += `ratelimit-policy: ${limited.policy}\r\nratelimit: ${rateLimitField(limited, this.options.clock.now())}\r\n`;
      question.limited = undefined;
      limited.streamEnded();
    }
    exchange.answeredEmpty(200, fields);
    question.trace.finish(question, 'allowed', 200); // TRACING
    this.options.metrics.decisionAnswered('allowed');
    if (this.options.accessLog) this.log(question, 200, 'allowed', undefined);
  }

  /**
   * Verdicts: the proxy port's refusal, status, challenge, Retry-After and problem body alike.
   * `extra` carries headers the step adds to a refusal (rate-limit headers), passed on as they are.
   */
  refused(question: Question, reason: DenyReason, right: RightLabel = 'none', extra?: Readonly<Record<string, string>>): void {
    const exchange = question.exchange;
    if (exchange.isDone) return;
    const denial = DENIALS[reason];
    exchange.right = right;
    exchange.refused({ status: denial.status, type: denial.type, title: denial.title, detail: denial.detail }, refusalHeaders(reason, extra));
    question.trace.finish(question, denial.outcome, denial.status, reason); // TRACING
    this.options.metrics.decisionAnswered(denial.outcome);
    if (this.options.accessLog) this.log(question, denial.status, denial.outcome, reason);
  }

  private log(question: Question, status: number, outcome: string, reason: DenyReason | undefined): void {
    this.options.logger.info({
      port: 'decision',
      requestId: question.exchange.requestId,
      method: question.method,
      path: redactTarget(question.url),
      status,
      right: question.exchange.right,
      outcome,
      reason,
      tokenId: question.identity?.tokenId,
      ...workloadFields(question.identity),
    });
  }

  // ExchangeSink: nothing on this port is forwarded, so only an abandoned question can end here.
  finished(): void {}
  /** The asking proxy left while its question was judged. */
  abandoned(exchange: Exchange): void {
    exchange.trace.finish(exchange, 'abandoned', 499); // TRACING
  }
  upstreamFailed(): void {}
}
