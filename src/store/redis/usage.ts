import { UsageNotWritten } from '../token-store.js';
import { DAY_MS, dayOf, emptyHour, USAGE_RETENTION_MS, type UsageCount, type UsageHour, type UsageStore, type UsedToken } from '../usage-log.js';
import type { RedisCommands } from './commands.js';

/**
 * Usage history in Redis (docs/usage.md): a hash per token per UTC day (in the token's slot), its
 * fields per hour, added to with HINCRBY so every replica's counts sum; and per day a hash of the
 * tokens used that day with their repositories, for GET /v1/usage. Both expire `usage.retention`
 * after the day ends.
 */
export class RedisUsage implements UsageStore {
  private usageRetentionMs = USAGE_RETENTION_MS;

  constructor(private readonly redis: RedisCommands) {}

  keepUsageFor(ms: number): void {
    this.usageRetentionMs = ms;
  }

  async addUsage(counts: readonly UsageCount[], now: number): Promise<void> {
    const { client, keys } = this.redis;
    const byDay = new Map<string, { tokenId: string; repository: string; day: number; fields: string[]; counts: UsageCount[] }>();
    for (const count of counts) {
      const day = dayOf(count.hour);
      const name = keys.usage(count.tokenId, day);
      let entry = byDay.get(name);
      if (entry === undefined) {
        entry = { tokenId: count.tokenId, repository: count.repository, day, fields: [], counts: [] };
        byDay.set(name, entry);
      }
      entry.fields.push(...usageFields(count));
      entry.counts.push(count);
    }
    const ttl = (day: number) => String(Math.max(1, day + DAY_MS + this.usageRetentionMs - now));
    const entries = [...byDay];
    // The index first: it is idempotent, so a batch tried again after a failure changes nothing there.
    await this.redis.run('addUsage', () =>
      Promise.all(
        entries.map(([, entry]) => {
          const key = keys.usageDay(entry.day);
          return client.hset(key, entry.tokenId, entry.repository).then(() => client.pexpire(key, ttl(entry.day)));
        }),
      ),
    );
    // Each token-day is one script, counted whole or not at all; only those that failed are handed back.
    const settled = await Promise.allSettled(
      entries.map(([name, entry]) => this.redis.run('addUsage', () => client.tgUsageAdd(name, ttl(entry.day), ...entry.fields))),
    );
    const unwritten = entries.flatMap(([, entry], i) => (settled[i]!.status === 'rejected' ? entry.counts : []));
    if (unwritten.length > 0) throw new UsageNotWritten(unwritten, (settled.find((one) => one.status === 'rejected') as PromiseRejectedResult).reason);
  }

  async usageOf(tokenId: string, from: number, to: number): Promise<UsageHour[]> {
    const days: number[] = [];
    for (let day = dayOf(from); day < to; day += DAY_MS) days.push(day);
    const replies = await this.redis.run('usageOf', () => Promise.all(days.map((day) => this.redis.client.hgetall(this.redis.keys.usage(tokenId, day)))));
    return replies.flatMap((fields) => usageHours(fields)).filter((hour) => hour.hour >= from && hour.hour < to);
  }

  async usedTokens(from: number, to: number): Promise<UsedToken[]> {
    const days: number[] = [];
    for (let day = dayOf(from); day < to; day += DAY_MS) days.push(day);
    const replies = await this.redis.run('usedTokens', () => Promise.all(days.map((day) => this.redis.client.hgetall(this.redis.keys.usageDay(day)))));
    const seen = new Map<string, string>();
    for (const fields of replies) for (const [tokenId, repository] of Object.entries(fields)) seen.set(tokenId, repository);
    return [...seen].map(([tokenId, repository]) => ({ tokenId, repository }));
  }
}

// The fields of a token-day usage hash: `<hour>:a` allowed, `<hour>:i` bytes in, `<hour>:o` bytes
// out, `<hour>:r:<reason>` refused for that reason (`<hour>`: the hour's start, epoch ms).

/** The field and increment pairs that add `count` (figures of zero are left out). */
export function usageFields(count: UsageCount): string[] {
  const out: string[] = [];
  const hour = count.hour;
  if (count.allowed > 0) out.push(`${hour}:a`, String(count.allowed));
  if (count.bytesIn > 0) out.push(`${hour}:i`, String(count.bytesIn));
  if (count.bytesOut > 0) out.push(`${hour}:o`, String(count.bytesOut));
  for (const reason in count.refused) if (count.refused[reason]! > 0) out.push(`${hour}:r:${reason}`, String(count.refused[reason]));
  return out;
}

/** The hours a token-day hash holds, oldest first. */
export function usageHours(fields: Record<string, string>): UsageHour[] {
  const hours = new Map<number, UsageHour>();
  for (const [field, value] of Object.entries(fields)) {
    const colon = field.indexOf(':');
    const at = Number(field.slice(0, colon));
    if (colon < 0 || !Number.isSafeInteger(at)) continue;
    let hour = hours.get(at);
    if (hour === undefined) {
      hour = emptyHour(at);
      hours.set(at, hour);
    }
    const kind = field.slice(colon + 1);
    const figure = Number(value);
    if (kind === 'a') hour.allowed = figure;
    else if (kind === 'i') hour.bytesIn = figure;
    else if (kind === 'o') hour.bytesOut = figure;
    else if (kind.startsWith('r:')) hour.refused[kind.slice(2)] = figure;
  }
  return [...hours.values()].sort((a, b) => a.hour - b.hour);
}
