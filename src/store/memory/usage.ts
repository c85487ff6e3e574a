import type { UsageCount, UsageHour, UsageStore, UsedToken } from '../usage-log.js';
import type { MemoryState } from './state.js';
import { copy, type MemoryWrites } from './writes.js';

/** Usage history in this process (docs/usage.md): summed per token per hour; the file store journals each batch. */
export class MemoryUsage implements UsageStore {
  private readonly state: MemoryState;

  constructor(private readonly writes: MemoryWrites) {
    this.state = writes.state;
  }

  keepUsageFor(ms: number): void {
    this.state.usage.retentionMs = ms;
  }

  addUsage(counts: readonly UsageCount[], now: number): Promise<void> {
    return this.writes.exclusive(async () => {
      if (counts.length > 0) await this.writes.commit({ op: 'usage', counts: counts.map(copy) });
      this.state.usage.prune(now);
    });
  }

  async usageOf(tokenId: string, from: number, to: number): Promise<UsageHour[]> {
    return this.state.usage.hoursOf(tokenId, from, to);
  }

  async usedTokens(from: number, to: number): Promise<UsedToken[]> {
    return this.state.usage.used(from, to);
  }
}
