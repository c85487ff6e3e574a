import { Socket } from 'node:net';

type ReadCallback = (nread: number, buffer: Buffer) => boolean;

interface OnreadSlots {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/**
 * Where net.Socket keeps its `onread` option, learnt from a socket made with a known one: a
 * socket `net.Server` accepted takes no `onread` (only `net.connect` and `new Socket` do), but
 * its handle can read into a caller-owned buffer all the same once those three slots are set
 * (lib/net.js, initSocketHandle). undefined when this Node keeps them some other way: accepted
 * sockets then read as they always did.
 */
const slots: OnreadSlots | undefined = (() => {
  const buffer = Buffer.alloc(0);
  const generator = () => buffer;
  const callback = () => true;
  const slotOf = (probe: Socket, value: unknown) =>
    Object.getOwnPropertySymbols(probe).find((key) => (probe as unknown as Record<symbol, unknown>)[key] === value);
  const fixed = new Socket({ onread: { buffer, callback } });
  const generated = new Socket({ onread: { buffer: generator, callback } });
  const found = { buffer: slotOf(fixed, buffer), callback: slotOf(fixed, callback), generator: slotOf(generated, generator) };
  fixed.destroy();
  generated.destroy();
  return found.buffer && found.callback && found.generator ? (found as OnreadSlots) : undefined;
})();

/**
 * From the next read on, an accepted plain-TCP socket reads into the buffer `next` returns (asked
 * again after every read) and hands each read to `callback` instead of emitting `data`. May be
 * called while the socket reads (in a `data` handler): the read in hand stays Node's. Returns
 * false, the socket reading as before, when this Node does not allow it.
 */
export function readIntoOwnBuffer(socket: Socket, next: () => Buffer, callback: ReadCallback): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Buffer) => void } })._handle;
  if (slots === undefined || typeof handle?.useUserBuffer !== 'function') return false;
  const first = next();
  const own = socket as unknown as Record<symbol, unknown>;
  own[slots.buffer] = first;
  own[slots.generator] = next;
  own[slots.callback] = callback;
  handle.useUserBuffer(first);
  return true;
}
