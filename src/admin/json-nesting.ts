/** Deepest nesting of arrays and objects an admin request body may have (RFC 8259 §9 lets a parser set it). */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * How deep `[` and `{` nest in JSON text, read piece by piece as a body arrives: one pass, the
 * same few comparisons per byte whatever the depth, four numbers of state. A body too deep is
 * refused before JSON.parse sees it, and before the rest of it is read.
 *
 * It reads UTF-8 bytes: every byte of a multi-byte sequence is 0x80 or above, so it is never
 * taken for a quote, a backslash or a bracket (RFC 8259 §8.1). On valid JSON `deepest` is the
 * depth of the parsed value (a scalar 0, an array or object one more than its deepest member);
 * on any other text it is some number and nothing throws: JSON.parse judges validity afterwards.
 */
export class JsonNesting {
  /** The deepest level seen so far. */
  deepest = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Reads the next piece of the text. */
  feed(bytes: Uint8Array): void {
    let { depth, deepest, inString, escaped } = this;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
      } else if (byte === QUOTE) {
        inString = true;
      } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
        if (++depth > deepest) deepest = depth;
      } else if ((byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) && depth > 0) {
        depth--;
      }
    }
    this.depth = depth;
    this.deepest = deepest;
    this.inString = inString;
    this.escaped = escaped;
  }
}

/** The nesting depth of a whole JSON text, as JsonNesting measures it. */
export function jsonDepth(text: string | Uint8Array): number {
  const nesting = new JsonNesting();
  nesting.feed(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  return nesting.deepest;
}
