import { type ClientHttp2Session, type ClientHttp2Stream, connect } from 'node:http2';
import { upstreamTimeout } from './upstream-fault.js';

/**
 * The gRPC upstream (`proxy.grpcUpstream`, `h2c://host:port`): one pooled HTTP/2 session over
 * cleartext, carrying every call as its own stream (HTTP/2 multiplexes, so one connection is
 * what gRPC clients use too). A session that closes, fails or gets GOAWAY is dropped, and the
 * next call opens a new one; calls already on it finish or fail on their own streams.
 */
export class GrpcUpstream {
  /** `host:port`, sent as `:authority` when the client gave none. */
  readonly authority: string;
  private session: ClientHttp2Session | undefined;

  constructor(
    url: string,
    /** `proxy.timeouts.connect`: a session not connected by then fails its calls (14 UNAVAILABLE). */
    /** May be set anew (a configuration reload); the next connect reads it. */
    public connectTimeoutMs: number,
  ) {
    this.authority = new URL(url).host;
  }

  /**
   * Opens a stream for one call, its fields a flat name/value list with the pseudo-headers first;
   * its 'error' event reports a session that could not connect.
   */
  request(headers: readonly string[]): ClientHttp2Stream {
    return this.current().request(headers, { endStream: false });
  }

  private current(): ClientHttp2Session {
    const open = this.session;
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const session = connect(`http://${this.authority}`);
    // A failed connect also fails each stream on it, which is where the call learns of it.
    session.on('error', () => this.drop(session));
    session.on('goaway', () => this.drop(session));
    session.on('close', () => this.drop(session));
    const timer = setTimeout(() => {
      if (session.connecting) session.destroy(upstreamTimeout('connect'));
    }, this.connectTimeoutMs);
    timer.unref();
    session.once('connect', () => clearTimeout(timer));
    session.once('close', () => clearTimeout(timer));
    this.session = session;
    return session;
  }

  private drop(session: ClientHttp2Session): void {
    if (this.session === session) this.session = undefined;
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
