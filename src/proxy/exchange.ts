import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Dispatcher } from 'undici';
import { sendProblem } from '../http/problem.js';
import type { Right } from '../tokens/record.js';
import { downstreamHeaders, type ForwardIdentity } from './headers.js';
import { classifyUpstreamError } from './upstream-errors.js';

type DispatchController = Dispatcher.DispatchController;

/** The server's response class, with a slot for its exchange so listeners need no closures. */
export class ProxyResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  exchange: Exchange | undefined = undefined;
}

// Listeners run with `this` bound to the response, so these two shared functions serve every request.
function onClientClose(this: ProxyResponse): void {
  this.exchange?.clientClosed();
}

function onDrain(this: ProxyResponse): void {
  this.exchange?.resume();
}

/** Where an exchange reports its end and upstream faults (metrics, access log). */
export interface ExchangeSink {
  /** True once shutdown began: the connection must close after this response. */
  readonly draining: boolean;
  finished(exchange: Exchange, outcome: 'allowed' | 'upstream_error', status: number): void;
  upstreamFailed(reason: 'refused' | 'reset' | 'timeout' | 'other'): void;
}

/**
 * One forwarded request: the undici dispatch handler that streams the upstream response to the
 * client with backpressure both ways, aborts the upstream when the client goes away, and turns
 * upstream faults into 502/504. One object per request instead of a closure per event.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  private controller: DispatchController | undefined;
  private isDone = false;
  upstreamStarted = 0;
  upstreamSeconds = 0;
  responseBytes = 0;
  requestBytes = 0;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly requestId: string,
    readonly right: Right,
    readonly identity: ForwardIdentity | undefined,
    readonly started: number,
    private readonly sink: ExchangeSink,
  ) {
    (res as ProxyResponse).exchange = this;
    res.on('close', onClientClose); // a response closes once; `on` avoids once()'s wrapper
  }

  /** Called when the client connection closes. */
  clientClosed(): void {
    // The client went away before the response ended: stop the upstream request too.
    if (!this.isDone && this.controller && !this.controller.aborted) {
      this.controller.abort(new Error('client closed the connection'));
    }
  }

  resume(): void {
    this.controller?.resume();
  }

  onRequestStart(controller: DispatchController): void {
    this.controller = controller;
    this.upstreamStarted = performance.now();
  }

  onResponseStart(controller: DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx from upstream: Tollgate answered Expect itself
    this.upstreamSeconds = (performance.now() - this.upstreamStarted) / 1000;
    if (this.res.destroyed) {
      controller.abort(new Error('client closed the connection'));
      return;
    }
    if (this.sink.draining) this.res.shouldKeepAlive = false;
    this.res.writeHead(statusCode, statusMessage || undefined, downstreamHeaders(headers, this.requestId));
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    this.responseBytes += chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', onDrain);
    }
  }

  onResponseEnd(_controller: DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.isDone = true;
    let hasTrailers = false;
    for (const _ in trailers) {
      hasTrailers = true;
      break;
    }
    if (hasTrailers) this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
    this.sink.finished(this, 'allowed', this.res.statusCode);
  }

  onResponseError(_controller: DispatchController, error: Error): void {
    if (this.isDone) return;
    this.isDone = true;
    if (this.res.destroyed || this.req.destroyed && !this.res.headersSent) {
      // The client left first; nothing to answer.
      this.sink.finished(this, 'upstream_error', 499);
      return;
    }
    const failure = classifyUpstreamError(error);
    this.sink.upstreamFailed(failure.reason);
    if (this.res.headersSent) {
      // Mid-body failure: the status is gone, so cut the response to signal it was incomplete.
      this.res.destroy(error);
      this.sink.finished(this, 'upstream_error', this.res.statusCode);
      return;
    }
    // An upload still streaming in cannot be finished: close the connection after answering.
    this.res.shouldKeepAlive = false;
    sendProblem(
      this.res,
      { status: failure.status, type: failure.type, title: failure.title, detail: 'The request was authorized but the upstream did not answer it.' },
      this.requestId,
    );
    this.sink.finished(this, 'upstream_error', failure.status);
  }
}
