import type { Socket } from 'node:net';
import type { Clock } from '../clock.js';

interface Seen {
  /** bytesRead + bytesWritten at the last sweep that saw them change. */
  bytes: number;
  since: number;
}

/**
 * Closes client connections that moved no byte either way for `idleMs` (`proxy.timeouts.idle`).
 *
 * Why not `server.timeout`: Node re-arms a socket's timer on every read and every write, which
 * cost about 7 µs (5%) per proxied request in an A/B of the two builds (bench/RESULTS.md). The
 * byte counters Node keeps anyway, read once per sweep, give the same protection with nothing
 * per request; a stalled connection closes between `idleMs` and `idleMs` plus one interval.
 */
export class IdleSweeper {
  private readonly seen = new Map<Socket, Seen>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    /** May be set anew (a configuration reload); the next sweep reads it. */
    public idleMs: number,
    private readonly clock: Clock,
    intervalMs = Math.max(50, Math.min(1000, idleMs / 4)),
  ) {
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  /** Watches a new connection until it closes. */
  track(socket: Socket): void {
    this.seen.set(socket, { bytes: 0, since: this.clock.now() });
    socket.once('close', () => this.seen.delete(socket));
  }

  /** Connections being watched. */
  get size(): number {
    return this.seen.size;
  }

  sweep(): void {
    const now = this.clock.now();
    for (const [socket, seen] of this.seen) {
      const bytes = socket.bytesRead + socket.bytesWritten;
      if (bytes !== seen.bytes) {
        seen.bytes = bytes;
        seen.since = now;
      } else if (now - seen.since >= this.idleMs) {
        socket.destroy();
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
