import { randomFillSync } from 'node:crypto';
import { containsSecret } from '../log/redact.js';

const MAX_LENGTH = 128;

/**
 * Keeps an incoming `x-request-id` when it is short visible ASCII holding no secret, else makes a
 * new one. The id is logged, forwarded and returned, so a client that pasted a token into it
 * (or a tool that used one as a correlation id) must not have it spread further.
 */
export function requestIdFor(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string' && incoming.length > 0 && incoming.length <= MAX_LENGTH) {
    let isClean = true;
    for (let i = 0; i < incoming.length; i++) {
      const c = incoming.charCodeAt(i);
      if (c < 0x21 || c > 0x7e || c === 0x22 /* " */ || c === 0x5c /* \ */) {
        isClean = false;
        break;
      }
    }
    if (isClean && !containsSecret(incoming)) return incoming;
  }
  return newRequestId();
}

/** Random bytes for this many ids, drawn at once (node:crypto's randomUUID batches the same way). */
const BATCH = 128;
const entropy = Buffer.alloc(16 * BATCH);
let nextInBatch = BATCH;
/** The id's characters, hyphens in place; the hex digits are written over for each id. */
const text = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');
/** Where each of the 16 bytes' two hex digits go. */
const DIGIT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * A random (version 4) UUID, as `crypto.randomUUID()` makes one, written into a buffer and read
 * out as one flat string: randomUUID joins 20 pieces per id, which every write of the id then
 * flattens again (one per request on the data plane).
 */
export function newRequestId(): string {
  if (nextInBatch === BATCH) {
    randomFillSync(entropy);
    nextInBatch = 0;
  }
  const at = nextInBatch++ * 16;
  for (let i = 0; i < 16; i++) {
    let byte = entropy[at + i]!;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
    const to = DIGIT_AT[i]!;
    text[to] = HEX[byte >> 4]!;
    text[to + 1] = HEX[byte & 0x0f]!;
  }
  return text.toString('latin1', 0, 36);
}
