import type { Socket } from 'node:net';
import { closeFrame, FrameCursor, POLICY_VIOLATION } from './websocket-frames.js';

/**
 * How long a peer may take to finish the frame it is in, or to read what is still owed to it once
 * the other side has gone, before Tollgate closes its socket without waiting.
 */
const FRAME_FINISH_MS = 1000;

/** What the tunnel reports back to its exchange. */
export interface TunnelOwner {
  tunnelBytes(fromClient: number, fromUpstream: number): void;
  tunnelClosed(): void;
}

/** One direction of the relay: bytes from `source` to `sink`, with backpressure. */
class Direction {
  readonly cursor = new FrameCursor();
  /** Set when the connection is being ended: the close frame this direction still owes its sink. */
  owed: Buffer | undefined;
  done = false;

  constructor(
    readonly source: Socket,
    readonly sink: Socket,
  ) {}
}

/**
 * A WebSocket after the upstream's 101: bytes relayed both ways as they come, each side paused
 * while the other cannot take more. Frames are not parsed beyond their boundaries (FrameCursor),
 * so Tollgate can end the connection with a close frame between two frames, never inside one.
 * Half-closes pass through; when one side closes, the other is closed once its writes flush.
 */
export class Tunnel {
  private readonly up: Direction;
  private readonly down: Direction;
  private closed = false;
  private ending = false;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    clientRest: Buffer,
    upstreamRest: Buffer,
    private readonly owner: TunnelOwner,
  ) {
    this.up = new Direction(client, upstream);
    this.down = new Direction(upstream, client);
    this.relay(this.up, (n) => owner.tunnelBytes(n, 0));
    this.relay(this.down, (n) => owner.tunnelBytes(0, n));
    if (clientRest.length > 0) this.pass(this.up, clientRest, (n) => owner.tunnelBytes(n, 0));
    if (upstreamRest.length > 0) this.pass(this.down, upstreamRest, (n) => owner.tunnelBytes(0, n));
    client.resume();
    upstream.resume();
  }

  private relay(direction: Direction, count: (bytes: number) => void): void {
    const { source, sink } = direction;
    source.on('data', (chunk: Buffer) => this.pass(direction, chunk, count));
    sink.on('drain', () => {
      if (!direction.done) source.resume();
    });
    source.on('end', () => {
      if (!sink.destroyed) sink.end();
    });
    source.on('error', () => {});
    source.on('close', () => this.sideClosed(sink));
  }

  private pass(direction: Direction, chunk: Buffer, count: (bytes: number) => void): void {
    if (direction.done) return;
    if (direction.owed !== undefined) {
      // Ending: let the frame in progress finish, then the close frame, then nothing more.
      const through = direction.cursor.scan(chunk, true);
      if (through > 0) direction.sink.write(chunk.subarray(0, through));
      count(through);
      if (direction.cursor.atBoundary) this.sendOwed(direction);
      return;
    }
    direction.cursor.scan(chunk);
    count(chunk.length);
    if (!direction.sink.write(chunk)) direction.source.pause();
  }

  private sendOwed(direction: Direction): void {
    const frame = direction.owed;
    if (frame === undefined || direction.done) return;
    direction.owed = undefined;
    direction.done = true;
    direction.source.pause();
    direction.sink.end(frame);
    if (this.up.done && this.down.done) {
      // Both peers have their close frame: the sockets go once the frames are flushed (or soon).
      const timer = setTimeout(() => this.destroy(), FRAME_FINISH_MS);
      timer.unref();
    }
  }

  /**
   * Ends the WebSocket: a close frame with `code` (1008 for a policy reason, 1001 when Tollgate
   * shuts down) and `reason` to each side, at the next frame boundary in each direction (at once
   * when already at one).
   */
  end(reason: string, code = POLICY_VIOLATION): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.down.owed = closeFrame(code, reason, false); // to the client: unmasked
    this.up.owed = closeFrame(code, reason, true); // to the upstream: masked, as a client's
    for (const direction of [this.down, this.up]) {
      if (direction.cursor.atBoundary) this.sendOwed(direction);
    }
    // A peer stuck inside a frame does not hold the connection open.
    const timer = setTimeout(() => this.destroy(), FRAME_FINISH_MS);
    timer.unref();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  private sideClosed(other: Socket): void {
    // Buffered writes still going out are flushed before the other side closes, but a peer that
    // reads nothing does not keep the socket (and the exchange) open: it goes after a second.
    if (other.writableLength === 0) other.destroy();
    else {
      other.end();
      const timer = setTimeout(() => other.destroy(), FRAME_FINISH_MS);
      timer.unref();
    }
    if (this.client.destroyed && this.upstream.destroyed) this.finish();
    else other.once('close', () => this.finish());
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.tunnelClosed();
  }
}
