import t from 'tap';
import type { UsageHour } from '../../src/store/usage-log.js';
import { csvCell, csvOf, seriesOf } from '../../src/usage/usage-report.js';

const HOUR = 3_600_000;

t.test('a series has every step of the window, with the hours summed into their step', async (t) => {
  const hours: UsageHour[] = [
    { hour: 0, allowed: 1, refused: { rate_limited: 2 }, bytesIn: 3, bytesOut: 4 },
    { hour: 5 * HOUR, allowed: 10, refused: { rate_limited: 1, insufficient_scope: 1 }, bytesIn: 0, bytesOut: 0 },
    { hour: 30 * HOUR, allowed: 100, refused: {}, bytesIn: 0, bytesOut: 0 },
  ];
  const days = seriesOf(hours, 0, 48 * HOUR, 24 * HOUR);
  t.same(days, [
    { at: '1970-01-01T00:00:00.000Z', allowed: 11, refused: 4, refusedBy: { rate_limited: 3, insufficient_scope: 1 }, bytesIn: 3, bytesOut: 4 },
    { at: '1970-01-02T00:00:00.000Z', allowed: 100, refused: 0, refusedBy: {}, bytesIn: 0, bytesOut: 0 },
  ]);
  t.equal(seriesOf([], 0, 3 * HOUR, HOUR).length, 3, 'empty steps are there, as zeros');
});

t.test('CSV cells are quoted where needed and never run as a formula', async (t) => {
  t.equal(csvCell('plain'), 'plain');
  t.equal(csvCell('a,b'), '"a,b"');
  t.equal(csvCell('say "hi"'), '"say ""hi"""');
  t.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  t.equal(csvCell('-1+2'), "'-1+2");
  t.equal(csvCell(null), '');
  t.equal(csvCell(42), '42');
  t.equal(csvOf(['a', 'b'], [[1, 'x']]), 'a,b\r\n1,x\r\n');
});
