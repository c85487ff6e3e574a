import type { TokenSummary } from '../../tokens/record.js';
import type { RedisClient } from './connection.js';

/** How the index reads tokens and the change log; supplied by the Redis store. */
export interface IndexSource {
  client: RedisClient;
  changesKey: string;
  /** The summaries of these tokens (one round trip), undefined where a token is gone. */
  fetch(ids: string[]): Promise<Array<TokenSummary | undefined>>;
}

/**
 * A local copy of every token's summary for listing and search, kept fresh from a change log
 * in Redis: each token write bumps a sequence number and records `id -> seq` in a sorted set,
 * so a sync reads only the ids changed since the last one. Loaded on first use, so a replica
 * that never serves a list never holds it.
 *
 * Only what search, sort, filters and visibility read is kept (TokenSummary: no hash, rights,
 * audit fields or last-use address), and the strings many tokens share (repository, user)
 * are held once; the page's full records are fetched by id.
 */
export class RedisTokenIndex {
  private readonly summaries = new Map<string, TokenSummary>();
  private readonly interned = new Map<string, string>();
  private lastSeq = 0;
  private syncing: Promise<void> | undefined;

  constructor(private readonly source: IndexSource) {}

  /** Brings the copy up to date (one round trip when nothing changed) and returns it. */
  async current(): Promise<Iterable<Readonly<TokenSummary>>> {
    this.syncing ??= this.sync().finally(() => (this.syncing = undefined));
    await this.syncing;
    return this.summaries.values();
  }

  /** One shared copy of a string many tokens repeat (a repository or user name). */
  private intern(value: string): string {
    const known = this.interned.get(value);
    if (known !== undefined) return known;
    this.interned.set(value, value);
    return value;
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
      const summaries = await this.source.fetch(batch);
      batch.forEach((id, j) => {
        const summary = summaries[j];
        if (!summary) {
          this.summaries.delete(id);
          return;
        }
        this.summaries.set(id, {
          id: summary.id,
          kind: summary.kind,
          name: summary.name,
          prefix: summary.prefix,
          repository: this.intern(summary.repository),
          user: summary.user === null ? null : this.intern(summary.user),
          status: summary.status,
          createdAt: summary.createdAt,
          expiresAt: summary.expiresAt,
          lastUsedAt: summary.lastUsedAt,
          parentId: summary.parentId,
          ...(summary.lent === undefined ? {} : { lent: summary.lent }),
          ...(summary.budgetId === undefined ? {} : { budgetId: summary.budgetId }),
          ...(summary.rolledTo === undefined ? {} : { rolledTo: summary.rolledTo }),
          ...(summary.labels === undefined ? {} : { labels: summary.labels }),
        });
      });
    }
    this.lastSeq = highest;
  }
}
