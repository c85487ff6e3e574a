import fc from 'fast-check';
import t from 'tap';
import { JsonNesting, jsonDepth } from '../../src/admin/json-nesting.js';

/** The depth of a parsed value: a scalar 0, an array or object one more than its deepest member. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const members = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const member of members) deepest = Math.max(deepest, depthOf(member));
  return 1 + deepest;
}

// Values up to 40 deep, so both sides of the 32 limit are drawn; strings of any code point
// (brackets, quotes, backslashes and multi-byte UTF-8 among them).
// jsonValue alone seldom goes deep: also some value wrapped in up to 40 arrays and objects.
const wrapped = fc
  .tuple(fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), fc.array(fc.tuple(fc.boolean(), fc.string({ unit: 'binary' })), { maxLength: 40 }))
  .map(([inner, layers]) => layers.reduce<unknown>((v, [isArray, key]) => (isArray ? [1, v] : { [key]: v, '[': '{' }), inner));
const value = fc.oneof(fc.jsonValue({ maxDepth: 40, stringUnit: 'binary' }), wrapped);
const text = value.chain((v) => fc.constantFrom(JSON.stringify(v), JSON.stringify(v, null, 2)));

t.test('on every valid JSON text the scanner measures the depth of the parsed value', async () => {
  fc.assert(
    fc.property(text, (json) => jsonDepth(json) === depthOf(JSON.parse(json))),
    { numRuns: 2000 },
  );
});

t.test('fed in pieces cut anywhere, even inside a multi-byte character, it measures the same', async () => {
  fc.assert(
    fc.property(text, fc.array(fc.nat(), { maxLength: 8 }), (json, cuts) => {
      const bytes = Buffer.from(json, 'utf8');
      const at = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
      const nesting = new JsonNesting();
      let from = 0;
      for (const to of [...at, bytes.length]) {
        nesting.feed(bytes.subarray(from, to));
        from = to;
      }
      return nesting.deepest === depthOf(JSON.parse(json));
    }),
    { numRuns: 2000 },
  );
});

t.test('on arbitrary text and bytes it never throws and answers a depth no larger than the brackets in it', async () => {
  const counts = (bytes: Uint8Array) => bytes.filter((b) => b === 0x5b || b === 0x7b).length;
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ',') })), (input) => {
      const depth = jsonDepth(input);
      return Number.isInteger(depth) && depth >= 0 && depth <= counts(Buffer.from(input, 'utf8'));
    }),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => jsonDepth(bytes) <= counts(bytes)));
});

t.test('work does not grow with nesting: a megabyte of open brackets is one linear pass', async (t) => {
  const deep = Buffer.alloc(1 << 20, '[');
  t.equal(jsonDepth(deep), 1 << 20);
  t.equal(jsonDepth(Buffer.from(`"${'['.repeat(1000)}"`)), 0, 'inside a string nothing counts');
  t.equal(jsonDepth('["\\"[", [[]]]'), 3, 'an escaped quote does not end the string');
});
