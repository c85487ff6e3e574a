import { createHash, randomBytes } from 'node:crypto';

/**
 * Where WebSocket frames begin and end in a relayed byte stream (RFC 6455 §5.2), without
 * reading payloads: Tollgate relays frames as bytes and needs their boundaries only to end a
 * connection cleanly, since a close frame written inside another frame's payload would be read
 * as payload. Costs a few arithmetic steps per frame header and nothing per payload byte.
 */
export class FrameCursor {
  /** Header bytes seen of the frame being read (0: at a boundary or inside a payload). */
  private have = 0;
  private readonly header = Buffer.alloc(14);
  /** Payload bytes left in the current frame. */
  private remaining = 0;

  get atBoundary(): boolean {
    return this.have === 0 && this.remaining === 0;
  }

  /**
   * Moves over `data`. With `stopAtBoundary`, stops at the first frame boundary reached (0 when
   * already at one) and returns how many bytes were passed; else passes everything.
   */
  scan(data: Buffer, stopAtBoundary = false): number {
    let at = 0;
    while (at < data.length) {
      if (stopAtBoundary && this.atBoundary) return at;
      if (this.remaining > 0) {
        const step = Math.min(this.remaining, data.length - at);
        this.remaining -= step;
        at += step;
        continue;
      }
      this.header[this.have++] = data[at++]!;
      const size = this.headerSize();
      if (size === 0 || this.have < size) continue;
      this.remaining = this.payloadLength();
      this.have = 0;
    }
    return at;
  }

  /** The whole header's size once its first two bytes are known; 0 before. */
  private headerSize(): number {
    if (this.have < 2) return 0;
    const length7 = this.header[1]! & 0x7f;
    const masked = (this.header[1]! & 0x80) !== 0;
    return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  private payloadLength(): number {
    const length7 = this.header[1]! & 0x7f;
    if (length7 === 126) return this.header.readUInt16BE(2);
    // 64-bit lengths beyond 2^53 cannot occur in practice; Number keeps the arithmetic exact below it.
    if (length7 === 127) return Number(this.header.readBigUInt64BE(2));
    return length7;
  }
}

/** RFC 6455 §7.4.1: 1008, the endpoint ends the connection because a policy was violated. */
export const POLICY_VIOLATION = 1008;
/** RFC 6455 §7.4.1: 1001, the endpoint is going away (server shutdown). */
export const GOING_AWAY = 1001;

/**
 * A close frame with `code` and a short reason (at most 123 bytes: control frames carry 125).
 * `masked` for frames a client would send (to the upstream), unmasked for the client (§5.3).
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), mask, payload]);
}

/** RFC 6455 §1.3: the GUID a server appends to the client's key to prove it read the handshake. */
const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The `Sec-WebSocket-Accept` value that answers `key`. */
export function websocketAccept(key: string): string {
  return createHash('sha1')
    .update(key + HANDSHAKE_GUID)
    .digest('base64');
}
