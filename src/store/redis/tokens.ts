import type { HistoryEntry, LastUse, TokenRecord, TokenSummary } from '../../tokens/record.js';
import type { OutEvent } from '../event-log.js';
import { StoreUnavailableError, type TokenCount, type TokenRecords, type WriteOutcome } from '../token-store.js';
import type { RedisCommands } from './commands.js';
import { allFields, fromFields, outcomeOf, SUMMARY_FIELDS, stateArgs, summaryFrom, toFields } from './encoding.js';
import type { RedisTokenIndex } from './token-index.js';

/**
 * Tokens and their history in Redis: one hash per token under `token:{id}`, so the hot-path
 * lookup is a single HGETALL, and a history list beside it. Each write also records the change
 * under `{idx}` (the change log the list index syncs from, the counts by kind and status, the
 * expiry of active tokens): in the same script where one server holds every key, else after it.
 */
export class RedisTokens implements TokenRecords {
  constructor(private readonly redis: RedisCommands) {}

  /**
   * The list index, loaded with the first list: a proxy replica never lists, so it neither holds
   * the copy nor loads its code.
   */
  private index: Promise<RedisTokenIndex> | undefined;
  private listIndex(): Promise<RedisTokenIndex> {
    const { client, keys } = this.redis;
    this.index ??= import('./token-index.js').then(
      ({ RedisTokenIndex }) => new RedisTokenIndex({ client, changesKey: keys.changes, fetch: (ids) => this.fetchSummaries(ids) }),
    );
    return this.index;
  }

  /** The keys a token script takes: the token's own, then (atomic) the {idx} keys of its change. */
  private tokenKeys(id: string): string[] {
    const keys = this.redis.keys;
    const own = [keys.token(id), keys.history(id)];
    return this.redis.atomic ? [...own, ...keys.changeKeys, keys.eventStream] : own;
  }

  /** Records in the change log that these tokens changed (after their own write succeeded). */
  private async bump(op: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.run(op, () => this.redis.client.tgBump(this.redis.keys.seq, this.redis.keys.changes, ...ids));
  }

  /**
   * Logs a token's change of state and moves it between the counters (Cluster: after its own
   * script). The token is written by then, so a failure here is not the caller's: the write
   * stands, and reconcile() repairs the counters (and the list index re-reads on its next sync).
   */
  private async change(op: string, id: string, old: readonly string[] | undefined, next: TokenRecord | undefined): Promise<void> {
    if (this.redis.atomic) return; // done inside the token's own script
    // run() has counted the failure (store health, store_errors_total); nothing to tell the caller.
    await this.redis
      .run(op, () => this.redis.client.tgChange(...this.redis.keys.changeKeys, id, old?.[0] ?? '', old?.[1] ?? '', ...stateArgs(next)))
      .catch(() => {});
  }

  /**
   * Recounts the counters and the expiry sets from the tokens themselves, and marks every token
   * changed so each replica's list index reads them again. For Cluster, where a crash between a
   * token's script and its change script leaves them off: run at start there and on demand
   * (`tollgate reconcile`). Writes made while it runs may be counted once too often or too few
   * until the next run; the tokens themselves are never touched.
   */
  async reconcile(): Promise<{ tokens: number }> {
    const ids = await this.allTokenIds();
    const counts = new Map<string, number>();
    const expiry: Record<'repository' | 'personal', Array<string | number>> = { repository: [], personal: [] };
    for (let i = 0; i < ids.length; i += 1000) {
      for (const record of await this.getTokens(ids.slice(i, i + 1000))) {
        if (!record) continue;
        const key = `${record.kind}:${record.status}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (record.status === 'active' && record.expiresAt !== null) expiry[record.kind].push(record.expiresAt, record.id);
      }
    }
    const [, , countsKey, repositoryExpiry, personalExpiry] = this.redis.keys.changeKeys;
    const client = this.redis.client;
    await this.redis.run('reconcile', async () => {
      await client.del(countsKey, repositoryExpiry, personalExpiry);
      if (counts.size > 0) await client.hset(countsKey, Object.fromEntries(counts));
      for (const [key, members] of [
        [repositoryExpiry, expiry.repository],
        [personalExpiry, expiry.personal],
      ] as const) {
        for (let i = 0; i < members.length; i += 2000) await client.zadd(key, ...members.slice(i, i + 2000));
      }
    });
    for (let i = 0; i < ids.length; i += 1000) await this.bump('reconcile', ids.slice(i, i + 1000));
    return { tokens: ids.length };
  }

  /** Every stored token id, by SCAN over every master (a Cluster keeps tokens on all of them). */
  private async allTokenIds(): Promise<string[]> {
    const head = this.redis.keys.tokenHead;
    const pattern = `${head.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const client = this.redis.client;
    const nodes = 'nodes' in client ? client.nodes('master') : [client];
    const ids: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.run('reconcile', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
        cursor = next;
        for (const key of keys) ids.push(key.slice(head.length, -1));
      } while (cursor !== '0');
    }
    return ids;
  }

  async countTokens(now: number): Promise<TokenCount[]> {
    const { client, keys } = this.redis;
    const counts = await this.redis.run('countTokens', () => client.hgetall(keys.counts));
    const out: TokenCount[] = [];
    for (const kind of ['repository', 'personal'] as const) {
      const expired = await this.redis.run('countTokens', () => client.zcount(keys.expiry(kind), '-inf', now));
      out.push(
        { kind, status: 'active', count: Number(counts[`${kind}:active`] ?? 0) - expired },
        { kind, status: 'expired', count: expired },
        { kind, status: 'revoked', count: Number(counts[`${kind}:revoked`] ?? 0) },
      );
    }
    return out;
  }

  /** The index's fields of these tokens: HMGETs sent together (auto-pipelined, one round trip per node). */
  private async fetchSummaries(ids: string[]): Promise<Array<TokenSummary | undefined>> {
    const { client, keys } = this.redis;
    const replies = await this.redis.run('listTokens', () => Promise.all(ids.map((id) => client.hmget(keys.token(id), ...SUMMARY_FIELDS))));
    return replies.map(summaryFrom);
  }

  async getTokens(ids: readonly string[]): Promise<Array<TokenRecord | undefined>> {
    if (ids.length === 0) return [];
    const { client, keys } = this.redis;
    const replies = await this.redis.run('getTokens', () => Promise.all(ids.map((id) => client.hgetall(keys.token(id)))));
    return replies.map(fromFields);
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const fields = await this.redis.run('getToken', () => this.redis.client.hgetall(this.redis.keys.token(id)));
    return fromFields(fields);
  }

  // Token writes go on the writer connection and, with store.redis.waitReplicas, wait for the
  // replicas after a write that changed something (a version conflict wrote nothing to confirm).

  async createToken(record: TokenRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean> {
    const mark = this.redis.writeMark();
    const created = await this.redis.run('createToken', () =>
      this.redis.writer.tgCreate(
        ...this.tokenKeys(record.id),
        ...this.redis.eventArgs(events),
        JSON.stringify(entry),
        record.id,
        ...stateArgs(record),
        ...allFields(record),
      ),
    );
    if (created === 1) {
      await this.redis.appendAfter('createToken', events);
      await this.change('createToken', record.id, undefined, record);
      await this.redis.confirm('createToken', mark, { at: Date.now(), type: 'tokens', ids: [record.id] });
    }
    return created === 1;
  }

  async updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome> {
    const mark = this.redis.writeMark();
    const reply = await this.redis.run('updateToken', () =>
      this.redis.writer.tgUpdate(
        ...this.tokenKeys(record.id),
        ...this.redis.eventArgs(events),
        JSON.stringify(entry),
        String(expectedVersion),
        record.id,
        ...stateArgs(record),
        ...toFields(record),
      ),
    );
    if (Array.isArray(reply)) {
      await this.redis.appendAfter('updateToken', events);
      await this.change('updateToken', record.id, reply, record);
      await this.redis.confirm('updateToken', mark, { at: Date.now(), type: 'tokens', ids: [record.id] });
    }
    return outcomeOf(reply);
  }

  async deleteToken(id: string, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome> {
    const mark = this.redis.writeMark();
    const reply = await this.redis.run('deleteToken', () =>
      this.redis.writer.tgDelete(...this.tokenKeys(id), ...this.redis.eventArgs(events), JSON.stringify(entry), String(expectedVersion), id),
    );
    if (Array.isArray(reply)) {
      await this.redis.appendAfter('deleteToken', events);
      await this.change('deleteToken', id, reply, undefined);
      await this.redis.confirm('deleteToken', mark, { at: Date.now(), type: 'tokens', ids: [id] });
    }
    return outcomeOf(reply);
  }

  async listTokens(): Promise<Iterable<Readonly<TokenSummary>>> {
    try {
      return await (await this.listIndex()).current();
    } catch (err) {
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError('listTokens', err);
    }
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const items = await this.redis.run('history', () => this.redis.client.lrange(this.redis.keys.history(id), 0, -1));
    return items.map((item) => JSON.parse(item) as HistoryEntry);
  }

  async touchLastUsed(uses: ReadonlyMap<string, LastUse>): Promise<void> {
    if (uses.size === 0) return;
    const ids = [...uses.keys()];
    const replies = await this.redis.run('touchLastUsed', () =>
      Promise.all(
        ids.map((id) => {
          const use = uses.get(id)!;
          return this.redis.client.tgTouch(this.redis.keys.token(id), String(use.at), use.ip ?? '', use.userAgent ?? '');
        }),
      ),
    );
    const touched = ids.filter((_, i) => replies[i] === 1);
    await this.bump('touchLastUsed', touched);
  }

  async countExpiring(now: number, until: number): Promise<Record<'repository' | 'personal', number>> {
    const { client, keys } = this.redis;
    const [repository, personal] = await this.redis.run('countExpiring', () =>
      Promise.all([client.zcount(keys.expiry('repository'), `(${now}`, until), client.zcount(keys.expiry('personal'), `(${now}`, until)]),
    );
    return { repository, personal };
  }

  async tokensExpiringBetween(from: number, until: number): Promise<string[]> {
    const { client, keys } = this.redis;
    const [repository, personal] = await this.redis.run('tokensExpiringBetween', () =>
      Promise.all([client.zrangebyscore(keys.expiry('repository'), `(${from}`, until), client.zrangebyscore(keys.expiry('personal'), `(${from}`, until)]),
    );
    return [...repository, ...personal];
  }
}
