import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { type ConnectionOwner, UpstreamConnection, type UpstreamUser } from '../../src/proxy/upstream-connection.js';

// What the property tests of upstream response heads share: a real UpstreamConnection over a
// socket stand-in, fed the bytes of a response, and generators of header fields as servers write them.

/** A socket stand-in: the connection only listens, reads counters and may destroy it. */
function fakeSocket(): Socket {
  const socket = new EventEmitter() as EventEmitter & Record<string, unknown>;
  Object.assign(socket, {
    bytesRead: 0,
    bytesWritten: 0,
    writableLength: 0,
    destroyed: false,
    destroy() {
      socket.destroyed = true;
    },
    write: () => true,
    pause() {},
    resume() {},
  });
  return socket as unknown as Socket;
}

const owner: ConnectionOwner = {
  isTls: false,
  options: { connectTimeoutMs: 1000, headersTimeoutMs: 1000, idleTimeoutMs: 1000 },
  released() {},
  gone() {},
  dispatch() {},
};

/** Parses `pieces`, one read each, as the response to one request of `user` on a fresh upstream connection. */
export function feedUpstream(user: UpstreamUser, pieces: readonly Buffer[]): void {
  const socket = fakeSocket();
  const connection = new UpstreamConnection(socket, owner, 0);
  connection.start(user, 0);
  for (const piece of pieces) socket.emit('data', piece);
}

/** `bytes` cut into reads at `cuts` (taken modulo its length; none: one read). */
export function cutInto(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % bytes.length).filter((c) => c > 0))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...at, bytes.length]) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  return pieces;
}

/** `name` in any mix of upper and lower case. */
export const nameCase = (name: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

/** Value bytes: visible ASCII, inner spaces and tabs, sometimes obs-text (which only strings carry). */
export const valueText = fc.oneof(
  { weight: 12, arbitrary: fc.stringMatching(/^[!-~]([ \t!-~]{0,30}[!-~])?$/) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z]{1,5}[\x80-\xff][a-z ]{0,5}$/) },
);

/** A header line's parts: `name:` then optional whitespace, the value and optional whitespace. */
export interface Field {
  name: string;
  value: string;
  before: string;
  after: string;
}

export const ows: fc.Arbitrary<string> = fc.constantFrom('', ' ', '  ', '\t', ' \t ');

/** A field named from `names` with a plain value, or now and then a Connection with one of `connectionValues`. */
export function fieldArb(names: fc.Arbitrary<string>, connectionValues: readonly string[], plainWeight: number): fc.Arbitrary<Field> {
  const connectionValue = fc.oneof(fc.constantFrom(...connectionValues), valueText);
  return fc.oneof(
    {
      weight: plainWeight,
      arbitrary: fc.record({ name: names, value: valueText, before: fc.oneof(fc.constant(' '), ows), after: fc.oneof(fc.constant(''), ows) }),
    },
    { weight: 1, arbitrary: fc.record({ name: nameCase('connection'), value: connectionValue, before: ows, after: ows }) },
  );
}
