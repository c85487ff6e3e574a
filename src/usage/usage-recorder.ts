import type { Clock } from '../clock.js';
import { FlushTimer } from '../flush-timer.js';
import { UsageNotWritten } from '../store/token-store.js';
import { addInto, hourOf, type UsageCount, type UsageStore } from '../store/usage-log.js';

/**
 * What the recorder reads of a judged request's token (auth's Identity satisfies it): a workload
 * identity (JWT, client certificate) is no stored token and has no history.
 */
export interface CountedToken {
  readonly record: { readonly id: string; readonly repository: string };
  readonly workload?: unknown;
}

/**
 * Counts each token's requests and bytes per hour in memory and adds them to the store in batches
 * (docs/usage.md): one write per token and hour per interval at most, never a store write per
 * request. A batch that fails is kept and added to the next.
 */
export class UsageRecorder {
  /** The hour being counted per token; an hour that ended moves to `closed`. */
  private open = new Map<string, UsageCount>();
  /** Other hours not yet written, per token by hour (a clock stepped back finds its hour here, not a copy). */
  private closed = new Map<string, Map<number, UsageCount>>();
  private readonly timer: FlushTimer;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: UsageStore,
    private readonly clock: Clock,
    intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.timer = new FlushTimer(() => this.flush(), intervalMs);
  }

  /** The token was allowed a request. */
  allowed(token: CountedToken, now: number): void {
    if (token.workload !== undefined) return;
    this.countOf(token.record, now).allowed++;
  }

  /** A request of a known token was refused for `reason`. */
  refused(token: CountedToken, reason: string, now: number): void {
    if (token.workload !== undefined) return;
    const refused = this.countOf(token.record, now).refused;
    refused[reason] = (refused[reason] ?? 0) + 1;
  }

  /** An allowed exchange ended having moved these body bytes (counted in the hour it ended). */
  ended(token: CountedToken | undefined, bytesIn: number, bytesOut: number): void {
    if (token === undefined || token.workload !== undefined) return;
    const count = this.countOf(token.record, this.clock.now());
    count.bytesIn += bytesIn;
    count.bytesOut += bytesOut;
  }

  /** One map lookup on the hot path; a new object only for a token's first request in an hour. */
  private countOf(record: CountedToken['record'], now: number): UsageCount {
    const hour = hourOf(now);
    const count = this.open.get(record.id);
    if (count !== undefined && count.hour === hour) return count;
    if (count !== undefined) this.close(count);
    const earlier = this.closed.get(record.id)?.get(hour);
    if (earlier !== undefined) this.closed.get(record.id)!.delete(hour);
    const next = earlier ?? { tokenId: record.id, repository: record.repository, hour, allowed: 0, refused: {}, bytesIn: 0, bytesOut: 0 };
    this.open.set(record.id, next);
    return next;
  }

  /** Keeps a count apart until the next flush, summed with one of the same token and hour. */
  private close(count: UsageCount): void {
    let hours = this.closed.get(count.tokenId);
    if (hours === undefined) {
      hours = new Map();
      this.closed.set(count.tokenId, hours);
    }
    const same = hours.get(count.hour);
    if (same === undefined) hours.set(count.hour, count);
    else addInto(same, count);
  }

  /** Adds what was counted to the store; what the store did not take is counted again next time. */
  flush(): Promise<void> {
    // One batch at a time: a flush asked for while one runs waits for it, then sends what came since.
    this.flushing = (this.flushing ?? Promise.resolve()).then(() => this.send());
    return this.flushing;
  }

  private async send(): Promise<void> {
    const batch = [...this.open.values()];
    for (const hours of this.closed.values()) batch.push(...hours.values());
    if (batch.length === 0) return;
    this.closed = new Map();
    this.open = new Map();
    try {
      await this.store.addUsage(batch, this.clock.now());
    } catch (err) {
      // Only what was not added goes back (Redis adds each token-day whole or not at all).
      for (const count of err instanceof UsageNotWritten ? err.unwritten : batch) this.putBack(count);
      this.onError(err);
    }
  }

  private putBack(count: UsageCount): void {
    const open = this.open.get(count.tokenId);
    if (open !== undefined && open.hour === count.hour) return addInto(open, count);
    this.close(count);
  }

  /** A reload set `usage.flushInterval` or `usage.retention`: the timer and the store take them from now on. */
  retune(settings: { flushInterval: number; retention: number }): void {
    this.store.keepUsageFor?.(settings.retention);
    if (settings.flushInterval !== this.timer.intervalMs) this.setInterval(settings.flushInterval);
  }

  /** The timer runs at `intervalMs` from now on. */
  setInterval(intervalMs: number): void {
    this.timer.retune(intervalMs);
  }

  start(): void {
    this.timer.start();
  }

  /** Stops the timer and adds what is left (shutdown). */
  async stop(): Promise<void> {
    this.timer.stop();
    await this.flush();
  }
}
