/** Budget counters: what the limiter leases from each token's limits (docs/limits.md). */
export interface BudgetStore {
  /**
   * Limits (budget leases): hands out up to `take.want` of what is left of a token's budget in
   * one window, in one atomic step, and counts it as taken. What a replica leased it spends
   * locally, so the data plane does no store I/O per request.
   */
  takeBudget(key: BudgetKey, take: BudgetTake): Promise<BudgetGrant>;
  /** Gives back `amount` of a lease that was not spent (never below zero). */
  returnBudget(key: BudgetKey, amount: number, now: number): Promise<void>;
  /** What each window has handed out so far (0 for none or expired), in the order asked. */
  readBudgets(keys: readonly BudgetKey[], now: number): Promise<number[]>;
}

/** One budget counter: a token's limit in one window (its start, epoch ms; 0 for streams, which have none). */
export interface BudgetKey {
  tokenId: string;
  limit: 'rate' | 'quota' | 'streams';
  window: number;
}

export interface BudgetTake {
  /** The limit: what may be handed out in the window in all. */
  cap: number;
  want: number;
  now: number;
  /** The counter is forgotten this long after its last change. */
  ttlMs: number;
  /**
   * Sliding window: the prior window's counter, weighted by how much of it still overlaps the
   * sliding window (in thousandths), also counts against the cap.
   */
  prior?: { window: number; permille: number };
}

export interface BudgetGrant {
  granted: number;
  /** What was left after this grant (cap less the counters). */
  left: number;
}
