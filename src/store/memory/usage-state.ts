import { addInto, emptyHour, HOUR_MS, USAGE_RETENTION_MS, type UsageCount, type UsageHour, type UsedToken } from '../usage-log.js';

interface TokenUsage {
  repository: string;
  /** By hour start. */
  hours: Map<number, UsageHour>;
}

/**
 * The usage history of the stores in this process (memory, file): sums per token per hour. The
 * file store journals each batch added and writes what is kept when it compacts.
 */
export class UsageState {
  private readonly tokens = new Map<string, TokenUsage>();
  retentionMs = USAGE_RETENTION_MS;

  /** Adds a batch (a journal replays it the same way). */
  add(counts: readonly UsageCount[]): void {
    for (const count of counts) {
      let token = this.tokens.get(count.tokenId);
      if (token === undefined) {
        token = { repository: count.repository, hours: new Map() };
        this.tokens.set(count.tokenId, token);
      }
      token.repository = count.repository;
      let hour = token.hours.get(count.hour);
      if (hour === undefined) {
        hour = emptyHour(count.hour);
        token.hours.set(count.hour, hour);
      }
      addInto(hour, count);
    }
  }

  /** Drops hours that ended more than the retention before `now`. */
  prune(now: number): void {
    const cutoff = now - this.retentionMs;
    for (const [id, token] of this.tokens) {
      for (const hour of token.hours.keys()) if (hour + HOUR_MS <= cutoff) token.hours.delete(hour);
      if (token.hours.size === 0) this.tokens.delete(id);
    }
  }

  hoursOf(tokenId: string, from: number, to: number): UsageHour[] {
    const hours = this.tokens.get(tokenId)?.hours;
    if (hours === undefined) return [];
    const out: UsageHour[] = [];
    for (const hour of hours.values()) if (hour.hour >= from && hour.hour < to) out.push(structuredClone(hour));
    return out.sort((a, b) => a.hour - b.hour);
  }

  used(from: number, to: number): UsedToken[] {
    const out: UsedToken[] = [];
    for (const [tokenId, token] of this.tokens) {
      for (const hour of token.hours.keys()) {
        if (hour >= from && hour < to) {
          out.push({ tokenId, repository: token.repository });
          break;
        }
      }
    }
    return out;
  }

  /** Everything kept, as counts: what a compacted journal holds. */
  snapshot(): UsageCount[] {
    const out: UsageCount[] = [];
    for (const [tokenId, token] of this.tokens)
      for (const hour of token.hours.values()) out.push({ tokenId, repository: token.repository, ...structuredClone(hour) });
    return out;
  }
}
