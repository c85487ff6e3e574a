import type { Socket } from 'node:net';

/**
 * Writes `data` as one HTTP/1.1 chunk (RFC 9112 §7.1). Corked, so the size line, the data and
 * the CRLF leave in one writev without copying the data into a new buffer.
 */
export function writeChunk(socket: Socket, data: Buffer): boolean {
  if (data.length === 0) return true; // a zero-size chunk would end the body
  socket.cork();
  socket.write(`${data.length.toString(16)}\r\n`);
  socket.write(data);
  const flowing = socket.write('\r\n');
  socket.uncork();
  return flowing;
}
