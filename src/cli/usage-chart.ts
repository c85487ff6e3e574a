/** One step of a usage series as GET /v1/tokens/{id}/usage/history answers it. */
export interface ChartItem {
  at: string;
  allowed: number;
  refused: number;
  bytesIn: number;
  bytesOut: number;
}

export interface ChartOptions {
  /** Columns to fit: the terminal's, else 80. */
  width: number;
  /** A terminal: block characters; else plain ASCII that any pipe, log or mail keeps. */
  isTerminal: boolean;
  step: '1h' | '1d';
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes as people read them: 1000 B, 1.5 kB, 23 MB (powers of 1000, one decimal below 10). */
export function shortBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

/** A step's label: `2026-12-01` by day, `12-01 13:00` by hour (UTC). */
const labelOf = (at: string, step: '1h' | '1d') => (step === '1d' ? at.slice(0, 10) : `${at.slice(5, 10)} ${at.slice(11, 16)}`);

/**
 * A bar per step, one line each, fitting `width` columns: requests (allowed, then refused in a
 * lighter mark) scaled to the busiest step, then the figures. Times are UTC.
 */
export function usageChart(items: readonly ChartItem[], options: ChartOptions): string {
  const full = options.isTerminal ? '█' : '#';
  const refusedMark = options.isTerminal ? '░' : 'x';
  const figures = items.map((item) => [
    String(item.allowed),
    item.refused > 0 ? `${item.refused} refused` : '',
    `${shortBytes(item.bytesIn)} in`,
    `${shortBytes(item.bytesOut)} out`,
  ]);
  const widths = [0, 1, 2, 3].map((column) => Math.max(0, ...figures.map((row) => row[column]!.length)));
  const text = (row: string[]) =>
    row
      .map((cell, column) => (column === 0 ? cell.padStart(widths[0]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const labelWidth = options.step === '1d' ? 10 : 11;
  const textWidth = widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1);
  const barWidth = Math.max(8, options.width - labelWidth - textWidth - 4);
  const busiest = Math.max(1, ...items.map((item) => item.allowed + item.refused));
  const lines = items.map((item, i) => {
    const total = item.allowed + item.refused;
    const length = total === 0 ? 0 : Math.max(1, Math.round((total / busiest) * barWidth));
    const refused = item.refused === 0 ? 0 : Math.max(1, Math.round((item.refused / total) * length));
    const bar = full.repeat(length - refused) + refusedMark.repeat(refused);
    return `${labelOf(item.at, options.step)}  ${bar.padEnd(barWidth)}  ${text(figures[i]!)}`;
  });
  const sum = items.reduce(
    (acc, item) => ({
      allowed: acc.allowed + item.allowed,
      refused: acc.refused + item.refused,
      bytesIn: acc.bytesIn + item.bytesIn,
      bytesOut: acc.bytesOut + item.bytesOut,
    }),
    { allowed: 0, refused: 0, bytesIn: 0, bytesOut: 0 },
  );
  const legend = `${full} allowed  ${refusedMark} refused, per ${options.step === '1d' ? 'day' : 'hour'} (UTC)`;
  const total = `total: ${sum.allowed} allowed, ${sum.refused} refused, ${shortBytes(sum.bytesIn)} in, ${shortBytes(sum.bytesOut)} out`;
  return `${legend}\n${lines.join('\n')}\n${total}\n`;
}
