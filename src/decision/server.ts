import { createServer, type Server, type Socket } from 'node:net';
import type { DecisionStep } from '../auth/decide.js';
import { type Allowed, refusal, type Verdict } from '../auth/verdict.js';
import type { Clock } from '../clock.js';
import { DecisionLedger } from '../exchange/ledgers.js';
import { ClientConnection, type ConnectionHost } from '../http1/client-connection.js';
import { ConnectionSet } from '../http1/connection-set.js';
import { IdleSweeper } from '../http1/idle-sweeper.js';
import type { RequestHead } from '../http1/request-head.js';
import { rateLimitField } from '../limits/ratelimit-fields.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Tracing } from '../tracing/tracing.js';
import { AnsweringExchange } from './answering-exchange.js';
import { allowedFields } from './answers.js';
import { Question, readQuestion } from './question.js';

/** What a configuration reload may set on the decision port while it serves. */
export type DecisionPortSettings = Pick<
  DecisionPortOptions,
  'pathPrefix' | 'forwardAuthorization' | 'accessLog' | 'headersTimeoutMs' | 'idleTimeoutMs' | 'maxConnections'
>;

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
  /** Where exchanges start their spans (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
}

/**
 * The decision port (docs/decision-api/README.md): a proxy in front (nginx `auth_request`, Traefik `forwardAuth`,
 * Caddy `forward_auth`, Envoy `ext_authz`) asks whether a request may pass, and gets 200 with
 * the identity headers, or the proxy port's refusal. The question is read from forwarded
 * headers (question.ts), then judged by the proxy port's own decision step.
 *
 * It runs on the same HTTP/1.1 front as the proxy port (node:net + llhttp, http1/client-connection.ts), not
 * node:http: a cached allowed answer costs what the proxy port's refusals cost (16.6 µs of CPU
 * against 17.3 µs for its 403 to a cached token), while a bare node:http server answering the
 * same 200 without any check already cost 17.7 µs (bench/decision-front.mjs,
 * docs/decision-api/README.md). The connection bookkeeping (head timeout, drain) is http1's
 * ConnectionSet; each question is an AnsweringExchange over the exchange core.
 */
export class DecisionServer implements ConnectionHost {
  readonly server: Server;
  private readonly options: DecisionPortOptions;
  private readonly connections: ConnectionSet;
  private readonly idle: IdleSweeper;
  /** Counts and logs each answered question. */
  readonly ledger: DecisionLedger;

  constructor(options: DecisionPortOptions) {
    this.options = options;
    this.ledger = new DecisionLedger(options);
    // Slowloris guard and shutdown, as on the proxy port.
    this.connections = new ConnectionSet(options.headersTimeoutMs);
    this.server = createServer({ noDelay: true });
    this.server.maxConnections = options.maxConnections;
    const idle = new IdleSweeper(options.idleTimeoutMs, options.clock);
    this.idle = idle;
    this.server.on('connection', (socket: Socket) => {
      idle.track(socket);
      // Questions carry no body to forward: reads stay Node's.
      this.connections.add(new ClientConnection(socket, this, false));
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

  /** ConnectionHost: each parsed head is a question answered here, counted and logged by this port's ledger. */
  open(connection: ClientConnection, head: RequestHead): AnsweringExchange {
    return new AnsweringExchange(connection, head, this.ledger);
  }

  closed(connection: ClientConnection): void {
    this.connections.closed(connection);
  }

  /**
   * From a parsed head: what only HTTP/1.1 framing can get wrong, then which request is asked
   * about, then the shared decision step. Synchronous on a cached token.
   */
  handle(exchange: AnsweringExchange): void {
    exchange.begin(exchange.requestIdHeader);
    const asked = readQuestion(exchange, this.options.pathPrefix);
    const question = new Question(exchange, typeof asked === 'string' ? exchange : asked);
    // The access log names the request asked about, not the question's own target.
    exchange.asked = question;
    if (exchange.expectation === 'unsupported') return exchange.refused(refusal('expectation_failed'));
    if (exchange.httpMinor >= 1 && exchange.host === undefined) return exchange.refused(refusal('bad_target'));
    if (typeof asked === 'string') return exchange.refused(refusal(asked));
    const verdict = this.options.decisions.decide(question);
    if (verdict instanceof Promise) void verdict.then((settled) => this.render(question, settled));
    else this.render(question, verdict);
  }

  /** The verdict, answered; when the asking proxy left meanwhile, only the slot goes back. */
  private render(question: Question, verdict: Verdict): void {
    if (question.isDone) {
      if (verdict.allowed) verdict.limited?.streamEnded();
      return;
    }
    if (verdict.allowed) this.allowed(question.exchange, verdict);
    else question.exchange.refused(verdict);
  }

  /** The request may pass; 200, empty, with who it runs as. */
  private allowed(exchange: AnsweringExchange, verdict: Allowed): void {
    exchange.allowed(verdict);
    let fields = allowedFields(exchange.requestId, verdict.identity, !this.options.forwardAuthorization);
    const limited = verdict.limited;
    // The request was counted against the token's rate; its stream slot is held only while the
    // question is answered (the body never passes here, so no bytes are counted) and goes back at
    // the answer's finish. The RateLimit fields go back for the proxy in front to pass on.
    if (limited !== undefined) fields += `ratelimit-policy: ${limited.policy}\r\nratelimit: ${rateLimitField(limited, this.options.clock.now())}\r\n`;
    exchange.answeredEmpty(200, fields);
  }
}
