import type { BudgetGrant, BudgetKey, BudgetStore, BudgetTake } from '../token-store.js';

interface Counter {
  taken: number;
  expiresAt: number;
}

/**
 * Budget counters of the stores that live in this process (memory, file). Not journaled: the
 * file store serves one process, whose own leases are all there is, so a restart starts every
 * window afresh (as a Redis counter that expired would).
 */
export class BudgetCounters {
  private readonly counters = new Map<string, Counter>();

  private static key(key: BudgetKey): string {
    return `${key.tokenId}\u0000${key.limit}\u0000${key.window}`;
  }

  private read(name: string, now: number): number {
    const counter = this.counters.get(name);
    if (counter === undefined) return 0;
    if (counter.expiresAt <= now) {
      this.counters.delete(name);
      return 0;
    }
    return counter.taken;
  }

  /** The same arithmetic as the Redis script (redis/scripts.ts BUDGET_TAKE). */
  take(key: BudgetKey, take: BudgetTake): BudgetGrant {
    const name = BudgetCounters.key(key);
    const taken = this.read(name, take.now);
    const prior = take.prior ? Math.floor((this.read(BudgetCounters.key({ ...key, window: take.prior.window }), take.now) * take.prior.permille) / 1000) : 0;
    const left = Math.max(0, take.cap - taken - prior);
    const granted = Math.min(take.want, left);
    this.counters.set(name, { taken: taken + granted, expiresAt: take.now + take.ttlMs });
    return { granted, left: left - granted };
  }

  give(key: BudgetKey, amount: number, now: number): void {
    const name = BudgetCounters.key(key);
    const counter = this.counters.get(name);
    if (counter === undefined || counter.expiresAt <= now) return;
    counter.taken = Math.max(0, counter.taken - amount);
  }

  readAll(keys: readonly BudgetKey[], now: number): number[] {
    return keys.map((key) => this.read(BudgetCounters.key(key), now));
  }
}

/** Budget counters of the memory and file stores: the counters above, in this process. */
export class MemoryBudgets implements BudgetStore {
  private readonly budgets = new BudgetCounters();

  async takeBudget(key: BudgetKey, take: BudgetTake): Promise<BudgetGrant> {
    return this.budgets.take(key, take);
  }

  async returnBudget(key: BudgetKey, amount: number, now: number): Promise<void> {
    this.budgets.give(key, amount, now);
  }

  async readBudgets(keys: readonly BudgetKey[], now: number): Promise<number[]> {
    return this.budgets.readAll(keys, now);
  }
}
