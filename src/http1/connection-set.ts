import type { Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ClientConnection } from './client-connection.js';

/**
 * The HTTP/1.1 client connections of one listening port (the proxy port, the decision port):
 * the headers timeout (slowloris) checked on one interval rather than a timer per request, and
 * shutdown: stop accepting, close idle connections at once and busy ones after their response,
 * then everything at the end of the grace period.
 */
export class ConnectionSet {
  private readonly connections = new Set<ClientConnection>();
  private readonly headTimer: NodeJS.Timeout;
  private isDraining = false;
  private drained: (() => void) | undefined;

  /** `headersTimeoutMs` may be set anew (a configuration reload); the next check reads it. */
  constructor(public headersTimeoutMs: number) {
    this.headTimer = setInterval(() => this.checkHeads(), Math.max(100, Math.min(1000, headersTimeoutMs / 2)));
    this.headTimer.unref();
  }

  get draining(): boolean {
    return this.isDraining;
  }

  add(connection: ClientConnection): void {
    this.connections.add(connection);
  }

  /** A connection's socket closed. */
  closed(connection: ClientConnection): void {
    this.connections.delete(connection);
    if (this.isDraining && this.connections.size === 0) this.drained?.();
  }

  private checkHeads(): void {
    // Transport timeouts run on the monotonic clock: the injected clock is the tokens' time.
    const now = performance.now();
    for (const connection of this.connections) {
      const since = connection.headStartedAt;
      if (since !== 0 && now - since >= this.headersTimeoutMs) connection.timedOut();
    }
  }

  /** Shutdown began: `server` stops accepting; resolves when the last connection has closed. */
  drain(server: Server): Promise<void> {
    this.isDraining = true;
    const closed = new Promise<void>((resolve) => {
      this.drained = resolve;
      server.close();
    });
    for (const connection of this.connections) connection.closeWhenDone();
    if (this.connections.size === 0) this.drained?.();
    return closed;
  }

  /** The grace period is over: every connection goes now. */
  closeAll(): void {
    for (const connection of this.connections) connection.destroy();
  }

  /** The listener closed: no more sweeps. */
  stop(): void {
    clearInterval(this.headTimer);
  }
}
