import { type Limits, parseQuotaOption, parseRateOption } from '../limits/limits.js';
import { type ParsedArgs, UsageError } from './args.js';

// The command line's limits: `--rate 50/1s --quota 10GiB/1d --streams 2`, `--no-limits`.

/** The limits the options give (undefined: none given), over `base` (an edit keeps what it does not name). */
export function limitsFromArgs(args: ParsedArgs, base: Limits | null = null): Limits | null | undefined {
  const given = ['rate', 'quota', 'streams'].some((name) => args.values.has(name));
  if (args.flags.has('no-limits')) {
    if (given) throw new UsageError('give --no-limits or limits, not both');
    return null;
  }
  if (!given) return undefined;
  const limits: Limits = { ...(base ?? {}) };
  const rate = args.values.get('rate');
  if (rate !== undefined) limits.rate = parseRateOption(rate) as Limits['rate'];
  const quota = args.values.get('quota');
  if (quota !== undefined) limits.quota = parseQuotaOption(quota) as Limits['quota'];
  const streams = args.values.get('streams');
  if (streams !== undefined) limits.streams = Number(streams);
  return limits;
}

/** `50/1s, 10737418240 B/1d, 2 streams`, or `-`. */
export function describeLimits(limits: Limits | null | undefined): string {
  if (!limits) return '-';
  const parts: string[] = [];
  if (limits.rate) parts.push(`${limits.rate.requests}/${limits.rate.per}`);
  if (limits.quota) parts.push(`${formatBytes(limits.quota.bytes)}/${limits.quota.per}`);
  if (limits.streams !== undefined) parts.push(`${limits.streams} streams`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes in the largest binary unit that divides them (exactly, so it reads back the same). */
export function formatBytes(bytes: number): string {
  let unit = 0;
  let value = bytes;
  while (unit < UNITS.length - 1 && value >= 1024 && value % 1024 === 0) {
    value /= 1024;
    unit++;
  }
  return `${value}${UNITS[unit]}`;
}
