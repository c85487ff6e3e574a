const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * The longest delay a Node timer holds (a signed 32-bit count of milliseconds, about 24.8 days).
 * A longer one draws a TimeoutOverflowWarning and fires after 1 ms, so no configured timer may
 * exceed it.
 */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/** Parses `250ms`, `30s`, `5m`, `12h`, `30d` into milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * (UNIT_MS[match[2]!] ?? NaN);
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}
