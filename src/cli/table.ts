import { visible } from './terminal-text.js';

const UNITS: Array<[string, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** "in 29 days", "3 hours ago", "just now"; "-" for no time. */
export function relativeTime(iso: string | null, now: number): string {
  if (iso === null) return '-';
  const delta = Date.parse(iso) - now;
  const size = Math.abs(delta);
  for (const [unit, ms] of UNITS) {
    if (size >= ms) {
      const count = Math.floor(size / ms);
      const text = `${count} ${unit}${count === 1 ? '' : 's'}`;
      return delta > 0 ? `in ${text}` : `${text} ago`;
    }
  }
  return 'just now';
}

/** Left-aligned columns separated by two spaces, with a header row; every cell shown through `visible`. */
export function renderTable(header: readonly string[], rawRows: ReadonlyArray<readonly string[]>): string {
  // Escaped before the widths are taken, so the columns line up with what is printed.
  const rows = rawRows.map((row) => row.map(visible));
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}
