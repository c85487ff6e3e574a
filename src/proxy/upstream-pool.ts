import { connect as connectTcp, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as connectTls } from 'node:tls';
import { ReadBuffer } from '../http1/read-buffer.js';
import { type ConnectionOwner, UpstreamConnection, type UpstreamUser } from './upstream-connection.js';
import { poolClosed } from './upstream-fault.js';

export interface UpstreamPoolOptions {
  /** `http://host:port` or `https://host:port`; a path in it is ignored (the request's is sent). */
  url: string;
  /** Most sockets open to the upstream (`proxy.connections`); requests beyond wait in order. */
  connections: number;
  connectTimeoutMs: number;
  /** From the request head written to the response head (`proxy.timeouts.headers`). */
  headersTimeoutMs: number;
  /** Longest time a response body may move no byte (`proxy.timeouts.idle`). */
  idleTimeoutMs: number;
}

/**
 * How long an idle upstream socket is kept. Below Node's default `keepAliveTimeout` (5 s), so
 * Tollgate closes first and seldom sends on a socket the upstream is closing (the race a
 * retry covers for requests without a body, and nothing covers for uploads).
 */
const KEEP_IDLE_MS = 4000;

/**
 * A bounded keep-alive pool of HTTP/1.1 sockets to one upstream. Idle sockets are reused
 * last-in first-out (the warmest socket, and the cold ones age out when the upstream closes
 * them). Timeouts are not a timer per request: one sweep per interval reads each busy socket's
 * deadline or byte counter, as the client side's IdleSweeper does. Times are performance.now():
 * transport timeouts must not move with the injected clock that tokens expire by.
 */
export class UpstreamPool implements ConnectionOwner {
  readonly host: string;
  readonly port: number;
  readonly isTls: boolean;
  /** The Host a request without one (HTTP/1.0) is sent with. */
  readonly authority: string;
  private readonly idle: UpstreamConnection[] = [];
  /**
   * Every socket opened and not yet gone; a busy one is marked on itself (`isBusy`) and counted
   * here, so the start and end of an exchange touch no Set (an add and a delete per request,
   * with the table's rehash as it grows and shrinks with the load).
   */
  private readonly sockets: UpstreamConnection[] = [];
  private busyCount = 0;
  private readonly waiting: UpstreamUser[] = [];
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Replaced by a reload: busy sockets finish their exchange, then close; none is kept idle. */
  private retired = false;

  constructor(readonly options: UpstreamPoolOptions) {
    const url = new URL(options.url);
    this.isTls = url.protocol === 'https:';
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = Number(url.port) || (this.isTls ? 443 : 80);
    this.authority = url.host;
    const shortest = Math.min(options.connectTimeoutMs, options.headersTimeoutMs, options.idleTimeoutMs);
    this.timer = setInterval(() => this.sweep(), Math.max(50, Math.min(1000, shortest / 4, KEEP_IDLE_MS / 4)));
    this.timer.unref();
  }

  /** Sockets open (idle and busy), for tests and metrics. */
  get size(): number {
    return this.idle.length + this.busyCount;
  }

  /** Runs `user` on a socket: an idle one, a new one within the bound, or the next one freed. */
  dispatch(user: UpstreamUser, fresh = false): void {
    if (this.closed) return user.upstreamFailed(poolClosed(), false);
    if (!fresh) {
      const reused = this.idle.pop();
      if (reused !== undefined) return this.run(reused, user);
    }
    if (this.size < this.options.connections || fresh) return this.run(this.open(), user);
    this.waiting.push(user);
  }

  private run(connection: UpstreamConnection, user: UpstreamUser): void {
    if (!connection.isBusy) {
      connection.isBusy = true;
      this.busyCount++;
    }
    connection.start(user, performance.now());
  }

  private open(): UpstreamConnection {
    if (this.isTls) {
      const socket: Socket = connectTls({ host: this.host, port: this.port, servername: this.host, ALPNProtocols: ['http/1.1'] });
      socket.setNoDelay(true);
      const connection = new UpstreamConnection(socket, this, performance.now());
      this.sockets.push(connection);
      return connection;
    }
    // Plain TCP reads into a buffer of ours (net's onread), reused while downloads flow.
    const reads = new ReadBuffer();
    let connection: UpstreamConnection | undefined;
    const socket = connectTcp({
      host: this.host,
      port: this.port,
      onread: {
        buffer: reads.next,
        callback: (nread, buffer) => {
          connection!.readInto(nread, buffer as Buffer);
          return true; // backpressure pauses the socket itself (UpstreamConnection.pause)
        },
      },
    });
    socket.setNoDelay(true);
    connection = new UpstreamConnection(socket, this, performance.now(), reads);
    this.sockets.push(connection);
    return connection;
  }

  /** A reload set new timeouts: each busy socket's next deadline check reads them. */
  retime(timeouts: Pick<UpstreamPoolOptions, 'connectTimeoutMs' | 'headersTimeoutMs' | 'idleTimeoutMs'>): void {
    Object.assign(this.options, timeouts);
  }

  /**
   * A reload moved the upstream (or the pool's size): requests waiting for a socket go to
   * `successor`, idle sockets close now, busy ones when their exchange ends (a download or a
   * WebSocket on the old upstream carries on). A retry of a request that met a closing socket
   * still opens one here: it was sent to this upstream.
   */
  retire(successor: UpstreamPool): void {
    this.retired = true;
    for (const connection of this.idle.splice(0)) connection.destroy();
    for (const user of this.waiting.splice(0)) successor.dispatch(user);
    if (this.busyCount === 0) clearInterval(this.timer);
  }

  /** Called by a connection whose exchange ended with the socket still good for another. */
  released(connection: UpstreamConnection): void {
    const next = this.waiting.shift();
    if (next !== undefined) return this.run(connection, next);
    this.notBusy(connection);
    if (this.closed || this.retired) {
      if (this.retired && this.busyCount === 0) clearInterval(this.timer);
      return connection.destroy();
    }
    connection.idleSince = performance.now();
    this.idle.push(connection);
  }

  /** Called by a connection once its socket is closed, whatever the reason. */
  gone(connection: UpstreamConnection): void {
    this.notBusy(connection);
    const open = this.sockets.indexOf(connection);
    if (open !== -1) this.sockets.splice(open, 1);
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    if (this.retired && this.size === 0) clearInterval(this.timer);
    // A slot opened: a waiting request gets a new socket.
    if (this.waiting.length > 0 && !this.closed && this.size < this.options.connections) this.run(this.open(), this.waiting.shift()!);
  }

  private notBusy(connection: UpstreamConnection): void {
    if (!connection.isBusy) return;
    connection.isBusy = false;
    this.busyCount--;
  }

  private sweep(): void {
    const now = performance.now();
    // A copy: a deadline missed destroys the socket, and its close may come back here.
    for (const connection of [...this.sockets]) if (connection.isBusy) connection.checkDeadline(now);
    // Oldest first: the front of the list has been idle longest.
    while (this.idle.length > 0 && now - this.idle[0]!.idleSince >= KEEP_IDLE_MS) this.idle.shift()!.destroy();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const connection of [...this.idle, ...this.sockets.filter((c) => c.isBusy)]) connection.destroy();
    for (const user of this.waiting.splice(0)) user.upstreamFailed(poolClosed(), false);
  }
}
