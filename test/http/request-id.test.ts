import t from 'tap';
import { newRequestId, requestIdFor } from '../../src/http/request-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('made ids are version 4 UUIDs, distinct across batches of drawn bytes', async (t) => {
  const seen = new Set<string>();
  // Per character position, the digits seen: every random position takes many values.
  const digits = Array.from({ length: 36 }, () => new Set<string>());
  for (let i = 0; i < 1000; i++) {
    const id = newRequestId();
    if (!UUID_V4.test(id)) t.fail(`not a v4 UUID: ${id}`);
    seen.add(id);
    for (let c = 0; c < 36; c++) digits[c]!.add(id[c]!);
  }
  t.equal(seen.size, 1000, 'no id repeats');
  for (const c of [0, 7, 9, 15, 20, 35]) t.ok(digits[c]!.size >= 12, `position ${c} takes ${digits[c]!.size} digits`);
  t.same([...digits[14]!], ['4'], 'the version digit');
  t.same([...digits[19]!].sort(), ['8', '9', 'a', 'b'], 'the variant digit takes its four values');
});

t.test('an id kept from the client is returned as it came; an unusable one is replaced', async (t) => {
  t.equal(requestIdFor('abc-123'), 'abc-123');
  t.match(requestIdFor('has space'), UUID_V4);
  t.match(requestIdFor(undefined), UUID_V4);
  const first = requestIdFor(undefined);
  t.not(requestIdFor(undefined), first, 'each made id is new');
});
