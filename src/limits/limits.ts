import { parseDuration } from '../config/duration.js';

/** The three limits a token may carry (names of the `limit` metric label and of RateLimit policies). */
export const LIMIT_NAMES = ['rate', 'quota', 'streams'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

// The stored shape belongs to the record that carries it; it is re-exported for the code that checks it.
import type { Limits } from '../tokens/record.js';

export type { Limits };

export const RATE_PER_MIN_MS = 1000;
export const RATE_PER_MAX_MS = 3_600_000;
export const QUOTA_PER_MIN_MS = 3_600_000;
export const QUOTA_PER_MAX_MS = 30 * 86_400_000;

/** Limits with their windows in milliseconds: what the limiter reads. */
export interface CompiledLimits {
  rate: { cap: number; perMs: number } | undefined;
  quota: { cap: number; perMs: number } | undefined;
  streams: number | undefined;
}

/** True when `limits` sets at least one limit. */
export function hasLimits(limits: Limits | null | undefined): limits is Limits {
  return limits != null && (limits.rate !== undefined || limits.quota !== undefined || limits.streams !== undefined);
}

/** The windows in milliseconds (the API validated the durations; a bad stored one limits nothing). */
export function compileLimits(limits: Limits): CompiledLimits {
  const ratePer = limits.rate && parseDuration(limits.rate.per);
  const quotaPer = limits.quota && parseDuration(limits.quota.per);
  return {
    rate: limits.rate && ratePer ? { cap: limits.rate.requests, perMs: ratePer } : undefined,
    quota: limits.quota && quotaPer ? { cap: limits.quota.bytes, perMs: quotaPer } : undefined,
    streams: limits.streams,
  };
}

/**
 * The limits that apply to a token: its own when it has any, else its repository's defaults.
 * A token's `limits: {}` is "none of its own".
 */
export function effectiveLimits(own: Limits | null | undefined, repositoryDefaults: Limits | null | undefined): Limits | undefined {
  if (hasLimits(own)) return own;
  if (hasLimits(repositoryDefaults)) return repositoryDefaults;
  return undefined;
}

/** A limit as people read it: `50/1s`, `1024 bytes/1d`, `2 streams`. */
function shown(name: LimitName, limits: Limits): string {
  if (name === 'rate') return `${limits.rate!.requests}/${limits.rate!.per}`;
  if (name === 'quota') return `${limits.quota!.bytes} bytes/${limits.quota!.per}`;
  return `${limits.streams} streams`;
}

/**
 * The first limit of `limits` looser than `bound`'s, with what it is held to; undefined when
 * every one is within. Rates and quotas compare as averages (requests or bytes per
 * millisecond), so `60/1m` is within `1/1s`. `mustSet`: a limit the bound has and `limits`
 * leaves out is beyond it too (the token's own limits replace its repository's defaults, so
 * leaving one out would lift it); without it, one left out is allowed (a lent token spends
 * from its maker's budget as well, so the maker's limit still holds).
 */
export function limitBeyond(
  limits: Limits | null | undefined,
  bound: Limits | null | undefined,
  mustSet: boolean,
): { name: LimitName; bound: string } | undefined {
  if (!hasLimits(bound)) return undefined;
  const own = limits ?? {};
  const mine = compileLimits(own);
  const theirs = compileLimits(bound);
  for (const name of LIMIT_NAMES) {
    if (name === 'streams') {
      if (theirs.streams === undefined) continue;
      if (mine.streams === undefined ? mustSet : mine.streams > theirs.streams) return { name, bound: shown(name, bound) };
      continue;
    }
    const cap = theirs[name];
    if (cap === undefined) continue;
    const have = mine[name];
    if (have === undefined ? mustSet : have.cap * cap.perMs > cap.cap * have.perMs) return { name, bound: shown(name, bound) };
  }
  return undefined;
}

const SIZE_UNITS = new Map<string, number>([
  ['', 1],
  ['B', 1],
  ['KB', 1e3],
  ['MB', 1e6],
  ['GB', 1e9],
  ['TB', 1e12],
  ['KIB', 1024],
  ['MIB', 1024 ** 2],
  ['GIB', 1024 ** 3],
  ['TIB', 1024 ** 4],
]);

/** Parses `10GiB`, `500MB`, `1024` into bytes; undefined when it is not a size. */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = SIZE_UNITS.get(match[2]!.toUpperCase());
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Parses the command line's forms: `--rate 50/1s`, `--quota 10GiB/1d`, `--streams 2`. Returns
 * what was meant or a message saying what is expected.
 */
export function parseRateOption(text: string): Limits['rate'] | string {
  const [count, per] = text.split('/');
  const requests = Number(count);
  if (!Number.isSafeInteger(requests) || requests < 1 || per === undefined || parseDuration(per) === undefined) return 'expected REQUESTS/PER such as 50/1s';
  return { requests, per };
}

export function parseQuotaOption(text: string): Limits['quota'] | string {
  const [size, per] = text.split('/');
  const bytes = size === undefined ? undefined : parseBytes(size);
  if (bytes === undefined || bytes < 1 || per === undefined || parseDuration(per) === undefined) return 'expected BYTES/PER such as 10GiB/1d';
  return { bytes, per };
}
