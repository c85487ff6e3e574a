import type { RedisClient } from './redis-connection.js';
import type { TokenRecord } from '../tokens/record.js';

/** How the index reads tokens and the change log; supplied by the Redis store. */
export interface IndexSource {
  client: RedisClient;
  changesKey: string;
  fetch(ids: string[]): Promise<Array<TokenRecord | undefined>>;
}

/**
 * A local copy of every token for listing and search, kept fresh from a change log in Redis:
 * each token write bumps a sequence number and records `id -> seq` in a sorted set, so a
 * sync reads only the ids changed since the last one. Loaded on first use, so a replica that
 * never serves a list never holds it.
 */
export class RedisTokenIndex {
  private readonly records = new Map<string, TokenRecord>();
  private lastSeq = 0;
  private syncing: Promise<void> | undefined;

  constructor(private readonly source: IndexSource) {}

  /** Brings the copy up to date (one round trip when nothing changed) and returns it. */
  async current(): Promise<Iterable<Readonly<TokenRecord>>> {
    this.syncing ??= this.sync().finally(() => (this.syncing = undefined));
    await this.syncing;
    return this.records.values();
  }

  private async sync(): Promise<void> {
    const { client, changesKey } = this.source;
    const changed = await client.zrangebyscore(changesKey, `(${this.lastSeq}`, '+inf', 'WITHSCORES');
    if (changed.length === 0) return;
    const ids: string[] = [];
    let highest = this.lastSeq;
    for (let i = 0; i < changed.length; i += 2) {
      ids.push(changed[i]!);
      highest = Math.max(highest, Number(changed[i + 1]));
    }
    for (let i = 0; i < ids.length; i += 1000) {
      const batch = ids.slice(i, i + 1000);
      const records = await this.source.fetch(batch);
      batch.forEach((id, j) => {
        const record = records[j];
        if (record) this.records.set(id, record);
        else this.records.delete(id);
      });
    }
    this.lastSeq = highest;
  }
}
