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

export interface TableOptions {
  /** The terminal's width: the widest columns are cut (ending in …) until the rows fit. */
  width?: number;
  /** Paints a padded cell (colour); widths are taken before, so colour codes never misalign. */
  paint?: (column: number, padded: string, cell: string) => string;
}

/**
 * Column widths that fit `width`: the widest column gives up a character until the row fits, so
 * long names and user agents go first and ids last; a column keeps at least 3 characters (its
 * header is cut too on a very narrow terminal).
 */
function fit(widths: number[], header: readonly string[], width: number | undefined): number[] {
  if (width === undefined) return widths;
  const fitted = [...widths];
  const floor = widths.map((w) => Math.min(w, 3));
  const total = () => fitted.reduce((a, b) => a + b, 0) + 2 * (fitted.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < fitted.length; i++) if (fitted[i]! > floor[i]! && (widest === -1 || fitted[i]! > fitted[widest]!)) widest = i;
    if (widest === -1) break;
    fitted[widest]!--;
  }
  return fitted;
}

const cut = (cell: string, width: number) => (cell.length > width ? `${cell.slice(0, Math.max(0, width - 1))}…` : cell);

/** Left-aligned columns separated by two spaces, with a header row; every cell shown through `visible`. */
export function renderTable(header: readonly string[], rawRows: ReadonlyArray<readonly string[]>, options: TableOptions = {}): string {
  // Escaped before the widths are taken, so the columns line up with what is printed.
  const rows = rawRows.map((row) => row.map(visible));
  const widths = fit(
    header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length))),
    header,
    options.width,
  );
  const line = (cells: readonly string[], paint: boolean) =>
    cells
      .map((cell, i) => {
        const shown = cut(cell, widths[i]!);
        const padded = i === cells.length - 1 ? shown : shown.padEnd(widths[i]!);
        return paint && options.paint ? options.paint(i, padded, cell) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => h.toUpperCase()), false), ...rows.map((row) => line(row, true))].join('\n') + '\n';
}
