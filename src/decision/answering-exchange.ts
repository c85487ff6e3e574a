import type { Judged } from '../auth/decide.js';
import type { Refused } from '../auth/verdict.js';
import { ExchangeCore, type ExchangeLedger } from '../exchange/core.js';
import type { ClientConnection, Http1Exchange } from '../http1/client-connection.js';
import { dateHeaderLine, problemAnswer, statusLine } from '../http1/heads.js';
import type { RequestHead } from '../http1/request-head.js';

/**
 * One question on the decision port, as its HTTP/1.1 connection carries it: the thin responder
 * over the exchange core that only answers (a refusal, or 200 with empty content), never
 * forwards. A body the asker sends is read no further and never kept: the connection closes
 * after the answer instead.
 */
export class AnsweringExchange extends ExchangeCore implements Http1Exchange, Pick<Judged, 'remoteAddress' | 'userAgent'> {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpMinor: number;
  keepAlive: boolean;
  requestComplete: boolean;
  readonly body: RequestHead['body'];
  readonly expectation: RequestHead['expectation'];
  readonly host: string | undefined;
  readonly requestIdHeader: string | undefined;
  /** Never in the registry of open exchanges: nothing of it stays open. */
  readonly liveProtocol = 'http' as const;
  readonly logProtocol = undefined;
  readonly tracedProtocol = 'decision' as const;

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
    this.requestIdHeader = head.requestIdHeader;
    this.requestComplete = head.body === 'none';
  }

  get remoteAddress(): string | undefined {
    return this.connection.remoteAddress;
  }

  userAgent(): string | undefined {
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'user-agent') return raw[i + 1];
    return undefined;
  }

  /** Answers the verdict's refusal as the proxy port does (status, headers, problem body). */
  refused(verdict: Refused): void {
    this.right = verdict.right;
    this.closeIfUnread();
    this.status = verdict.status;
    this.connection.write(problemAnswer(verdict.problem, this.requestId, verdict.headers, !this.keepAlive, this.ledger.now(), this.method === 'HEAD'));
    this.finish('refused', verdict.outcome, verdict.status, verdict.reason);
    this.connection.exchangeEnded(this);
  }

  /** Answers with empty content and the given header lines (each ending in CRLF): the allowed 200. */
  answeredEmpty(status: number, fieldLines: string): void {
    this.closeIfUnread();
    this.status = status;
    const close = this.keepAlive ? '' : 'connection: close\r\n';
    this.connection.write(`${statusLine(status)}${fieldLines}content-length: 0\r\n${dateHeaderLine(this.ledger.now())}${close}\r\n`);
    this.finish('answered', 'allowed', status);
    this.connection.exchangeEnded(this);
  }

  /** A body left unread (or shutdown) ends the connection with this answer. */
  private closeIfUnread(): void {
    if ((this.body !== 'none' && !this.requestComplete) || this.connection.isDraining) this.keepAlive = false;
  }

  // Http1Exchange: from the connection.

  requestData(data: Buffer): boolean {
    this.requestBytes += data.length;
    // Nothing is forwarded or kept: read no more until the answer, which closes the connection.
    if (!this.isDone) this.connection.pauseReading();
    return false;
  }

  requestEnded(): void {
    this.requestComplete = true;
  }

  clientDrained(): void {}

  goingAway(): void {}

  clientClosed(): void {
    this.finish('abandoned', 'upstream_error', 499);
  }

  badFraming(): boolean {
    this.keepAlive = false;
    this.finish('abandoned', 'not_found', 400);
    return true;
  }

  /** Never registered as open, so never ended by a revocation. */
  end(): void {}
}
