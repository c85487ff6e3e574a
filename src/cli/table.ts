import { visible } from './terminal-text.js';

const UNITS: Array<[string, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/**
 * "in 14 days", "3 hours ago", "just now"; "-" for no time. Rounded to the nearest unit, as
 * people count: a token made with `--expires-in 2w` a second ago expires "in 14 days", not 13.
 * The unit is the largest one the span fills at least once.
 */
export function relativeTime(iso: string | null, now: number): string {
  if (iso === null) return '-';
  const delta = Date.parse(iso) - now;
  const size = Math.abs(delta);
  for (const [unit, ms] of UNITS) {
    if (size >= ms) {
      let count = Math.round(size / ms);
      let name = unit;
      // 59.6 minutes is "1 hour", 23.7 hours "1 day": a rounded count that fills the next unit moves up.
      if ((unit === 'minute' && count === 60) || (unit === 'hour' && count === 24)) [count, name] = [1, unit === 'minute' ? 'hour' : 'day'];
      const text = `${count} ${name}${count === 1 ? '' : 's'}`;
      return delta > 0 ? `in ${text}` : `${text} ago`;
    }
  }
  return 'just now';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Dec 16, 2026 17:20 UTC": an absolute time beside a relative one (UTC, so every reader sees one date). */
export function absoluteTime(iso: string): string {
  const at = new Date(iso);
  const hh = String(at.getUTCHours()).padStart(2, '0');
  const mm = String(at.getUTCMinutes()).padStart(2, '0');
  return `${MONTHS[at.getUTCMonth()]} ${at.getUTCDate()}, ${at.getUTCFullYear()} ${hh}:${mm} UTC`;
}

export interface TableOptions {
  /** The terminal's width: columns are dropped or cut (ending in …) until the rows fit. */
  width?: number;
  /** Paints a padded cell (colour); widths are taken before, so colour codes never misalign. */
  paint?: (column: string, padded: string, cell: string) => string;
  /** Columns (by header) never cut: ids and names, which a user copies into the next command. */
  whole?: readonly string[];
  /** Columns (by header) left out, first first, while the rows do not fit (before any is cut). */
  optional?: readonly string[];
  /** Columns (by header) left out, first first, while the rows would not fit even cut to a few characters. */
  spare?: readonly string[];
}

/** A cut column keeps this much (or all it has): less reads as noise, not as a hint. */
const MIN_CUT = 8;

const SEPARATOR = 2;
const total = (widths: readonly number[]) => widths.reduce((a, b) => a + b, 0) + SEPARATOR * (widths.length - 1);

/**
 * Column widths that fit `width`: the widest column that may be cut gives up a character until
 * the row fits, so long user agents and limits go first; a column keeps at least 3 characters
 * (its header is cut too on a very narrow terminal). Whole columns are never cut: when they alone
 * do not fit, the line runs past the width (the terminal wraps it) rather than print a wrong id.
 */
function fit(widths: number[], header: readonly string[], width: number | undefined, whole: readonly string[]): number[] {
  if (width === undefined) return widths;
  const fitted = [...widths];
  const floor = widths.map((w, i) => (whole.includes(header[i]!) ? w : Math.min(w, 3)));
  while (total(fitted) > width) {
    let widest = -1;
    for (let i = 0; i < fitted.length; i++) if (fitted[i]! > floor[i]! && (widest === -1 || fitted[i]! > fitted[widest]!)) widest = i;
    if (widest === -1) break;
    fitted[widest]!--;
  }
  return fitted;
}

const cut = (cell: string, width: number) => (cell.length > width ? `${cell.slice(0, Math.max(0, width - 1))}…` : cell);

/**
 * Left-aligned columns separated by two spaces, with a header row; every cell shown through
 * `visible`. On a terminal, optional columns are left out while the rows do not fit, then the
 * widest columns that are not whole are cut; spare columns go when cutting cannot make room.
 */
export function renderTable(fullHeader: readonly string[], rawRows: ReadonlyArray<readonly string[]>, options: TableOptions = {}): string {
  // Escaped before the widths are taken, so the columns line up with what is printed.
  const fullRows = rawRows.map((row) => row.map(visible));
  const natural = fullHeader.map((title, i) => Math.max(title.length, ...fullRows.map((row) => (row[i] ?? '').length)));
  const shown = fullHeader.map((_, i) => i);
  const whole = options.whole ?? [];
  const leaveOut = (names: readonly string[], width: (i: number) => number) => {
    for (const name of names) {
      if (options.width === undefined || total(shown.map(width)) <= options.width) return;
      const at = shown.indexOf(fullHeader.indexOf(name));
      if (at !== -1) shown.splice(at, 1);
    }
  };
  leaveOut(options.optional ?? [], (i) => natural[i]!);
  leaveOut(options.spare ?? [], (i) => (whole.includes(fullHeader[i]!) ? natural[i]! : Math.min(natural[i]!, MIN_CUT)));
  const header = shown.map((i) => fullHeader[i]!);
  const rows = fullRows.map((row) => shown.map((i) => row[i] ?? ''));
  const widths = fit(
    shown.map((i) => natural[i]!),
    header,
    options.width,
    whole,
  );
  const line = (cells: readonly string[], paint: boolean) =>
    cells
      .map((cell, i) => {
        const text = cut(cell, widths[i]!);
        const padded = i === cells.length - 1 ? text : text.padEnd(widths[i]!);
        return paint && options.paint ? options.paint(header[i]!, padded, cell) : padded;
      })
      .join('  ')
      .trimEnd();
  return `${[
    line(
      header.map((h) => h.toUpperCase()),
      false,
    ),
    ...rows.map((row) => line(row, true)),
  ].join('\n')}\n`;
}

/**
 * `key: value` lines, the values in one column (as `kubectl describe` and `tollgate whoami`
 * print one thing); a long value wraps at spaces under its column, never mid-word. `paint`
 * colours a value by its key (the status).
 */
export function renderFields(
  fields: ReadonlyArray<readonly [string, string]>,
  options: { width?: number; paint?: (key: string, value: string) => string } = {},
): string {
  const keyWidth = Math.max(...fields.map(([key]) => key.length)) + 1;
  const room = options.width === undefined ? Infinity : Math.max(20, options.width - keyWidth - SEPARATOR);
  return `${fields
    .map(([key, raw]) => {
      const value = visible(raw);
      const lines: string[] = [];
      let current = '';
      for (const [, gap, word] of value.matchAll(/( *)(\S+)/g)) {
        if (current !== '' && current.length + gap!.length + word!.length > room) {
          lines.push(current);
          current = word!;
        } else current += (current === '' ? '' : gap!) + word!;
      }
      lines.push(current);
      const painted = options.paint ? lines.map((l) => options.paint!(key, l)) : lines;
      return `${`${key}:`.padEnd(keyWidth + SEPARATOR)}${painted.join(`\n${' '.repeat(keyWidth + SEPARATOR)}`)}`.trimEnd();
    })
    .join('\n')}\n`;
}
