import t from 'tap';
import { configReference } from '../../src/docs/reference.js';
import { readPage } from '../helpers/markdown.js';

// docs/configuration.md explains each duration's range in a hand-written table ("why these
// bounds"); the ranges themselves must be what the schema checks, as the generated reference
// states them.
const reference = new Map(
  [...configReference().matchAll(/^\| `([\w.]+)` \| [^|]* \| a duration from (\S+) to (\S+?)(?:,[^|]*)? \|/gm)].map(([, key, min, max]) => [
    key!,
    `${min} - ${max}`,
  ]),
);

t.test("every range in the configuration page's duration table is the one the schema checks", async (t) => {
  const page = readPage('docs/configuration.md');
  const table = /^## Durations and their ranges\n[\s\S]*?\n((?:\|.*\n)+)/m.exec(page)![1]!;
  const rows = table.split('\n').filter((row) => row.startsWith('| `'));
  t.ok(rows.length > 10, `${rows.length} rows`);
  const listed = new Set<string>();
  for (const row of rows) {
    const [keys, ranges] = row
      .split('|')
      .slice(1, 3)
      .map((cell) => cell.trim()) as [string, string];
    const names = [...keys.matchAll(/`([\w.]+)`/g)].map((m) => m[1]!);
    const documented = ranges.split(',').map((range) => range.trim());
    names.forEach((name, i) => {
      listed.add(name);
      t.equal(documented[i] ?? documented[0], reference.get(name), name);
    });
  }
  // Spans of calendar time (a token's lifetime, the expiry notice) are not timers: not in the table.
  for (const [name, range] of reference) if (range !== '1h - 36500d') t.ok(listed.has(name), `${name} is in the table`);
});
