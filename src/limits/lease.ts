/**
 * What this replica holds of one budget (a token's rate or quota) in one window: the part of the
 * limit it leased from the store and has not spent yet. Spent locally, without I/O; refilled from
 * the store in the background before it runs out.
 */
export class Lease {
  /** Start of the window (epoch ms) the balance belongs to; a lease never outlives its window. */
  window = -1;
  /** Leased and not spent. Below zero only for bytes relayed on credit while a refill was on its way. */
  balance = 0;
  /** What the store had left after this replica's last lease (for the RateLimit field). */
  left: number;
  /** The store had nothing left: refuse without asking again until then. */
  exhaustedUntil = 0;
  /** The store did not answer: do not ask again until then (spend what is leased, then 503). */
  failedUntil = 0;
  /** A lease request on its way, so concurrent needs make one. */
  pending: Promise<void> | undefined = undefined;
  /**
   * A lease of the next window, taken near the end of this one so the first request of the
   * next window does not wait for the store (`nextWindow` -1: none).
   */
  nextWindow = -1;
  nextBalance = 0;
  nextLeft = 0;
  isPrefetching = false;

  constructor(
    readonly limit: 'rate' | 'quota',
    readonly cap: number,
    readonly perMs: number,
    /** How much one lease asks for (see sliceOf). */
    readonly slice: number,
    /** Rate: the prior window still counts, weighted by its overlap (a sliding window). Quota: fixed windows. */
    readonly isSliding: boolean,
  ) {
    this.left = cap;
  }

  /** Start of the window `now` falls in: multiples of `per` since the epoch, so quota days are UTC days. */
  windowAt(now: number): number {
    return now - (now % this.perMs);
  }

  /** Moves to the window `now` is in; what was left of the old window's lease is spent there or lost. */
  roll(now: number): void {
    const window = this.windowAt(now);
    if (window === this.window) return;
    this.window = window;
    if (window === this.nextWindow) {
      this.balance = this.nextBalance;
      this.left = this.nextLeft;
    } else {
      this.balance = 0;
      this.left = this.cap;
    }
    this.nextWindow = -1;
    this.nextBalance = 0;
  }

  /** True in the last fifth of the window while the next window's lease is not taken yet. */
  wantsNext(now: number): boolean {
    return !this.isPrefetching && this.nextWindow !== this.window + this.perMs && (now - this.window) * 5 > this.perMs * 4;
  }

  /** When a refill should start: half a slice left, so it lands before the balance runs out. */
  get isLow(): boolean {
    return this.balance * 2 < this.slice;
  }
}

/**
 * How much one lease takes: a tenth of the limit (at least 1), so ten leases make the limit and
 * a replica asks the store about ten times per window at full use. Bytes take at least 1 MiB
 * (at most the whole quota), so a fast download is not a lease per chunk.
 */
export function sliceOf(limit: 'rate' | 'quota', cap: number): number {
  const tenth = Math.ceil(cap / 10);
  if (limit === 'rate') return Math.max(1, tenth);
  return Math.min(cap, Math.max(tenth, 1 << 20));
}

/**
 * Open-stream slots this replica holds of a token's `streams` limit. A slot freed locally is
 * reused without asking; slots idle for a tick go back to the store so other replicas can use them.
 */
export class Slots {
  held = 0;
  inUse = 0;
  /** Slots were idle at the last tick (held beyond what is in use). */
  wasIdle = false;
  exhaustedUntil = 0;
  failedUntil = 0;
  pending: Promise<void> | undefined = undefined;

  constructor(readonly cap: number) {}
}
