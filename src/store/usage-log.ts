// Usage history (docs/usage.md): what each token did, hour by hour. The data plane counts in memory
// and adds its counts in batches (src/usage/usage-recorder.ts); every store keeps the sums here.

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Usage is kept this long unless `usage.retention` says otherwise (keepUsageFor). */
export const USAGE_RETENTION_MS = 90 * DAY_MS;

/** The start of the UTC hour `at` falls in. */
export const hourOf = (at: number): number => at - (at % HOUR_MS);

/** The start of the UTC day `at` falls in. */
export const dayOf = (at: number): number => at - (at % DAY_MS);

/** One token's figures in one hour (`hour`: its start, epoch ms). */
export interface UsageHour {
  hour: number;
  /** Requests the token was allowed. */
  allowed: number;
  /** Requests refused after the token was known, by reason (`insufficient_scope`, `rate_limited`, ...). */
  refused: Record<string, number>;
  /** Body bytes from the client, and to it, of the token's exchanges that ended in the hour. */
  bytesIn: number;
  bytesOut: number;
}

/** What a replica adds for one token and hour: increments, summed with every other replica's. */
export interface UsageCount extends UsageHour {
  tokenId: string;
  /** The token's repository when counted: what GET /v1/usage filters by, kept after the token is deleted. */
  repository: string;
}

/** A token with usage in a window, and its repository. */
export interface UsedToken {
  tokenId: string;
  repository: string;
}

/**
 * The usage history every store keeps. Counts are increments: two replicas adding for the same
 * token and hour add up, so the hourly figures across replicas are exact sums. Hours older than
 * the retention are dropped (Redis: by key expiry).
 */
export interface UsageStore {
  /** Keeps usage this long from now on: `usage.retention`. */
  keepUsageFor?(ms: number): void;
  /** Adds each count to its token's hour; `now` decides what the retention has dropped. */
  addUsage(counts: readonly UsageCount[], now: number): Promise<void>;
  /** The token's hours that have any figure in [from, to), oldest first. */
  usageOf(tokenId: string, from: number, to: number): Promise<UsageHour[]>;
  /**
   * Every token with usage in some hour of [from, to), in no particular order. Redis indexes by
   * UTC day, so it may add tokens used only in other hours of the same days: read their hours.
   */
  usedTokens(from: number, to: number): Promise<UsedToken[]>;
}

/** Adds `count` into `into` (same hour). */
export function addInto(into: UsageHour, count: UsageHour): void {
  into.allowed += count.allowed;
  into.bytesIn += count.bytesIn;
  into.bytesOut += count.bytesOut;
  for (const reason in count.refused) into.refused[reason] = (into.refused[reason] ?? 0) + count.refused[reason]!;
}

/** An empty hour. */
export const emptyHour = (hour: number): UsageHour => ({ hour, allowed: 0, refused: {}, bytesIn: 0, bytesOut: 0 });
