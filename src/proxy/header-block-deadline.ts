import { constants, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';

interface Watch {
  /** The highest stream id whose header block is known to have ended. */
  ended: number;
  /** A stream whose header block was seen begun and not ended at a sweep; 0 for none. */
  pending: number;
  /** When `pending` was first seen (performance.now()). */
  since: number;
}

/**
 * `proxy.timeouts.headers` on HTTP/2: a header block (HEADERS to END_HEADERS, RFC 9113 §4.3) not
 * whole within the deadline ends its connection, as an unfinished head does on HTTP/1.1. Until
 * END_HEADERS nothing reaches the application, so a client trickling CONTINUATION frames holds a
 * stream that no token has been asked for yet.
 *
 * node:http2 gives no event for a block in progress, but nghttp2 notes a new stream's id when its
 * HEADERS frame begins (`session.state.lastProcStreamID`), and node:http2 hands the stream over
 * when it ends. A sweep reads that id once per interval for each connection; a stream past the
 * last one handed over is a block in progress. Per request this costs one Map lookup; nothing
 * else is read or written per frame. A stream nghttp2 resets on its own (a malformed field) also
 * never reaches the application: so a block seen in progress gets one PING, and its ACK, which a
 * client may send only once the block is over (RFC 9113 §6.2, §6.10), clears it.
 */
export class HeaderBlockDeadline {
  private readonly watches = new Map<Http2Session, Watch>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    /** May be set anew (a configuration reload); the next sweep reads it. */
    public deadlineMs: number,
    intervalMs = Math.max(50, Math.min(1000, deadlineMs / 4)),
  ) {
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  /** Watches a new connection until it closes. */
  track(session: Http2Session): void {
    this.watches.set(session, { ended: 0, pending: 0, since: 0 });
    session.once('close', () => this.watches.delete(session));
  }

  /** node:http2 handed over a stream: its header block is whole. */
  handedOver(stream: ServerHttp2Stream): void {
    const watch = this.watches.get(stream.session!);
    if (watch !== undefined && stream.id! > watch.ended) watch.ended = stream.id!;
  }

  /** Ends each connection whose header block has been in progress for the deadline. */
  sweep(): void {
    // Transport timeouts run on the monotonic clock: the injected clock is the tokens' time.
    const now = performance.now();
    for (const [session, watch] of this.watches) {
      if (session.destroyed) continue;
      const begun = session.state.lastProcStreamID ?? 0;
      if (begun <= watch.ended) {
        watch.pending = 0;
      } else if (begun !== watch.pending) {
        watch.pending = begun;
        watch.since = now;
        if (!session.closed) session.ping((err) => err === null && this.ended(watch, begun));
      } else if (now - watch.since >= this.deadlineMs) {
        session.destroy(undefined, constants.NGHTTP2_ENHANCE_YOUR_CALM);
      }
    }
  }

  /** The listener closed: no more sweeps. */
  stop(): void {
    clearInterval(this.timer);
  }

  private ended(watch: Watch, stream: number): void {
    if (stream > watch.ended) watch.ended = stream;
    if (watch.pending === stream) watch.pending = 0;
  }
}
