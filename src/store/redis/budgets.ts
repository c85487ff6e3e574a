import type { BudgetGrant, BudgetKey, BudgetStore, BudgetTake } from '../token-store.js';
import type { RedisCommands } from './commands.js';

/**
 * Budget counters in Redis (docs/limits.md): a key per token, limit and window, in the token's
 * slot, that expires by Redis's own clock.
 */
export class RedisBudgets implements BudgetStore {
  constructor(private readonly redis: RedisCommands) {}

  /** One script per lease; both keys carry the token's hash tag, so this runs on a Cluster too. */
  async takeBudget(key: BudgetKey, take: BudgetTake): Promise<BudgetGrant> {
    const keys = this.redis.keys;
    const current = keys.budget(key.tokenId, key.limit, key.window);
    const prior = take.prior ? keys.budget(key.tokenId, key.limit, take.prior.window) : current;
    const [granted, left] = await this.redis.run('takeBudget', () =>
      this.redis.client.tgBudgetTake(
        current,
        prior,
        String(take.cap),
        String(take.want),
        String(Math.max(1, Math.ceil(take.ttlMs))),
        String(take.prior?.permille ?? 0),
      ),
    );
    return { granted: Number(granted), left: Number(left) };
  }

  async returnBudget(key: BudgetKey, amount: number, _now: number): Promise<void> {
    await this.redis.run('returnBudget', () => this.redis.client.tgBudgetReturn(this.redis.keys.budget(key.tokenId, key.limit, key.window), String(amount)));
  }

  /** Counters expire by Redis's own clock (PX), so `now` is not needed here. */
  async readBudgets(keys: readonly BudgetKey[], _now: number): Promise<number[]> {
    if (keys.length === 0) return [];
    // One key at a time: on a Cluster different tokens' counters live in different slots.
    const values = await this.redis.run('readBudgets', () =>
      Promise.all(keys.map((key) => this.redis.client.get(this.redis.keys.budget(key.tokenId, key.limit, key.window)))),
    );
    return values.map((value) => Number(value ?? 0));
  }
}
