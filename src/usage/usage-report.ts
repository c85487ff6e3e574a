import { addInto, emptyHour, type UsageHour } from '../store/usage-log.js';

/** One step of a usage series, as the API shows it (docs/usage.md). */
export interface UsageItem {
  at: string;
  allowed: number;
  /** Refusals of every reason; `refusedBy` splits them. */
  refused: number;
  refusedBy: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
}

/** What GET /v1/usage ranks tokens by. */
export const USAGE_ORDERS = ['requests', 'bytesIn', 'bytesOut', 'refused'] as const;
export type UsageOrder = (typeof USAGE_ORDERS)[number];

export const STEPS = { '1h': 3_600_000, '1d': 86_400_000 } as const;
export type Step = keyof typeof STEPS;

/** The sum of a hour's refusals over every reason. */
export const refusedOf = (hour: UsageHour): number => Object.values(hour.refused).reduce((sum, n) => sum + n, 0);

/** Sums `hours` into one. */
export function totalOf(hours: readonly UsageHour[], at = 0): UsageHour {
  const total = emptyHour(at);
  for (const hour of hours) addInto(total, hour);
  return total;
}

/** The API's view of a summed hour or step. */
export function itemOf(hour: UsageHour): UsageItem {
  return {
    at: new Date(hour.hour).toISOString(),
    allowed: hour.allowed,
    refused: refusedOf(hour),
    refusedBy: hour.refused,
    bytesIn: hour.bytesIn,
    bytesOut: hour.bytesOut,
  };
}

/**
 * Every step of [from, to) (both on step boundaries), oldest first, with the hours summed into
 * the step they fall in; a step with no use is all zeros, so a chart's bars stand where they belong.
 */
export function seriesOf(hours: readonly UsageHour[], from: number, to: number, stepMs: number): UsageItem[] {
  const steps: UsageHour[] = [];
  for (let at = from; at < to; at += stepMs) steps.push(emptyHour(at));
  for (const hour of hours) {
    const step = steps[Math.floor((hour.hour - from) / stepMs)];
    if (step !== undefined) addInto(step, hour);
  }
  return steps.map(itemOf);
}

/** The reasons that occur in `items`, sorted: the CSV's refusal columns. */
export function reasonsIn(items: ReadonlyArray<{ refusedBy: Record<string, number> }>): string[] {
  const reasons = new Set<string>();
  for (const item of items) for (const reason in item.refusedBy) reasons.add(reason);
  return [...reasons].sort();
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break; text a spreadsheet
 * would run as a formula (leading `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** Rows as CSV text with a header line, CRLF line ends (RFC 4180 §2). */
export function csvOf(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  return `${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
