/** What one read of an upstream socket may bring: libuv's own suggestion for a stream read. */
const READ_SIZE = 64 * 1024;

/**
 * The read buffer of a plain-TCP upstream socket (net's `onread`). Every read lands in the same
 * 64 KiB while the client socket takes each piece at once, so a download leaves no buffer behind
 * for the garbage collector; a piece the client socket queued is still referenced by its write
 * queue, so that buffer is left to it and the next reads get a new one.
 */
export class ReadBuffer {
  private current = Buffer.allocUnsafeSlow(READ_SIZE);
  /** For `onread.buffer`: where the next read lands. */
  readonly next = (): Buffer => this.current;

  /** The last read is kept by someone: it keeps this buffer, the next read gets another. */
  lend(): void {
    this.current = Buffer.allocUnsafeSlow(READ_SIZE);
  }
}
