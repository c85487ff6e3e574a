import fc from 'fast-check';
import t from 'tap';
import { closeFrame, FrameCursor } from '../../src/http1/websocket-frames.js';

/** A frame as a peer would write it: any opcode, masked or not, payload sizes across all three length forms. */
function frame(opcode: number, length: number, masked: boolean): Buffer {
  const header: number[] = [0x80 | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 65536) header.push(maskBit | 126, length >> 8, length & 255);
  else {
    header.push(maskBit | 127, 0, 0, 0, 0);
    header.push((length >>> 24) & 255, (length >>> 16) & 255, (length >>> 8) & 255, length & 255);
  }
  if (masked) header.push(1, 2, 3, 4);
  // A payload full of bytes that look like frame headers, to catch a cursor that reads payloads.
  return Buffer.concat([Buffer.from(header), Buffer.alloc(length, 0x88)]);
}

const frames = fc.array(
  fc.record({
    opcode: fc.constantFrom(0, 1, 2, 8, 9, 10),
    length: fc.oneof(fc.integer({ min: 0, max: 125 }), fc.integer({ min: 126, max: 70_000 })),
    masked: fc.boolean(),
  }),
  { minLength: 1, maxLength: 12 },
);

t.test('the cursor finds exactly the frame boundaries, however the stream is split', async (t) => {
  fc.assert(
    fc.property(frames, fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 30 }), (specs, cuts) => {
      const parts = specs.map((s) => frame(s.opcode, s.length, s.masked));
      const stream = Buffer.concat(parts);
      const boundaries = new Set<number>([0]);
      let at = 0;
      for (const part of parts) {
        at += part.length;
        boundaries.add(at);
      }
      // Feed in pieces; at every position the cursor must say "boundary" exactly at the real ones.
      const cursor = new FrameCursor();
      let position = 0;
      let cut = 0;
      while (position < stream.length) {
        const size = Math.min(cuts[cut++ % cuts.length]!, stream.length - position);
        const piece = stream.subarray(position, position + size);
        cursor.scan(piece);
        position += size;
        if (cursor.atBoundary !== boundaries.has(position)) return false;
      }
      return cursor.atBoundary;
    }),
    { numRuns: 200 },
  );
  t.pass('200 generated streams');
});

t.test('stopping at a boundary passes exactly the rest of the frame in progress', async (t) => {
  fc.assert(
    fc.property(frames, fc.nat(), (specs, pick) => {
      const parts = specs.map((s) => frame(s.opcode, s.length, s.masked));
      const stream = Buffer.concat(parts);
      const split = pick % (stream.length + 1);
      const cursor = new FrameCursor();
      cursor.scan(stream.subarray(0, split));
      const passed = cursor.scan(stream.subarray(split), true);
      // The first real boundary at or after the split: where a close frame may go.
      const boundaries = [0];
      for (const part of parts) boundaries.push(boundaries.at(-1)! + part.length);
      const next = boundaries.find((b) => b >= split)!;
      return passed === next - split && cursor.atBoundary;
    }),
    { numRuns: 300 },
  );
  t.pass('300 generated streams');
});

t.test('close frames: 1008 and the reason, masked toward the upstream only', async (t) => {
  const plain = closeFrame(1008, 'token revoked', false);
  t.same([...plain.subarray(0, 4)], [0x88, 15, 0x03, 0xf0]);
  t.equal(plain.subarray(4).toString(), 'token revoked');
  const masked = closeFrame(1008, 'token revoked', true);
  t.equal(masked[1]! & 0x80, 0x80, 'mask bit set');
  const key = masked.subarray(2, 6);
  const payload = Buffer.from(masked.subarray(6).map((byte, i) => byte ^ key[i & 3]!));
  t.equal(payload.readUInt16BE(0), 1008);
  t.equal(payload.subarray(2).toString(), 'token revoked');
  const cursor = new FrameCursor();
  t.equal(cursor.scan(Buffer.concat([plain, masked])), plain.length + masked.length);
  t.ok(cursor.atBoundary, 'each is one whole frame');
  t.equal(closeFrame(1008, 'x'.repeat(300), false).length, 2 + 125, 'a long reason is cut to fit a control frame');
});
