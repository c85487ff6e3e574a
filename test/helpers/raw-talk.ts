import { connect } from 'node:net';

/** Writes raw bytes to a port on loopback (Tollgate's proxy port); collects what comes back until close. */
export function talk(port: number, bytes: string) {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let how = 'end';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', (err) => (how = (err as NodeJS.ErrnoException).code ?? 'error'));
  socket.write(bytes);
  return { socket, text: () => text, how: () => how, closed: new Promise<void>((resolve) => socket.on('close', () => resolve())) };
}
