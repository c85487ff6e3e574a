import { createHash } from 'node:crypto';
import {
  DEFAULT_ORGANIZATION,
  defaultOrganization,
  type HistoryEntry,
  type LastUse,
  type OrganizationRecord,
  organizationOf,
  type RepositoryRecord,
  type TeamRecord,
  type TokenRecord,
  type TokenSummary,
  type UserRecord,
} from '../tokens/record.js';
import { ChannelWatch } from './channel-watch.js';
import { type Attempt, type Delivery, EVENT_RETENTION_MS, type EventWithDeliveries, type OutEvent, settled, type Taken } from './event-log.js';
import { connectRedis, type RedisClient, type RedisTopology } from './redis-connection.js';
import { allFields, fromFields, outcomeOf, SUMMARY_FIELDS, stateArgs, summaryFrom, toFields } from './redis-encoding.js';
import { RedisKeys } from './redis-keys.js';
import {
  BUDGET_RETURN,
  BUDGET_TAKE,
  BUMP,
  CHANGE,
  CREATE,
  DELETE,
  LEASE,
  ONCE,
  ORGANIZATION,
  RECORD,
  type Scripts,
  SETTLE,
  TAKE,
  TOUCH,
  tokenScript,
  UPDATE,
  USAGE_ADD,
} from './redis-scripts.js';
import type { RedisTokenIndex } from './redis-token-index.js';
import { usageFields, usageHours } from './redis-usage.js';
import {
  type BudgetGrant,
  type BudgetKey,
  type BudgetTake,
  type Invalidation,
  type InvalidationListener,
  type OrganizationDeleteOutcome,
  type StoreHealthListener,
  StoreUnavailableError,
  type TokenCount,
  type TokenStore,
  UsageNotWritten,
  type WriteOutcome,
} from './token-store.js';
import { DAY_MS, dayOf, USAGE_RETENTION_MS, type UsageCount, type UsageHour, type UsedToken } from './usage-log.js';

export interface RedisStoreOptions extends RedisTopology {
  keyPrefix: string;
  /** How often this replica publishes a heartbeat on the invalidation channel (default 2 s). */
  heartbeatMs?: number;
  /** The subscription heard nothing for three heartbeats: the cache was reset and the subscriber renewed. */
  onChannelSilent?: (silentMs: number) => void;
}

/**
 * The production store: one Redis hash per token under `token:{id}`, so the hot-path lookup
 * is a single HGETALL. The client is set for a proxy: no offline queue and a short command
 * timeout, so an outage turns into a quick 503 instead of requests piling up.
 */
export class RedisStore implements TokenStore {
  readonly backend = 'redis' as const;
  private readonly client: RedisClient & Scripts;
  private subscriber: RedisClient | undefined;
  private watch: ChannelWatch | undefined;
  private readonly listeners: InvalidationListener[] = [];
  private readonly keys: RedisKeys;
  private health: StoreHealthListener | undefined;
  /** False from a failed command until one succeeds: outages are reported once, not per command. */
  private isAnswering = true;

  constructor(private readonly options: RedisStoreOptions) {
    this.keys = new RedisKeys(options.keyPrefix);
    this.client = connectRedis(options, 'commands') as RedisClient & Scripts;
    this.atomic = (options.cluster ?? []).length === 0;
    const tokenKeys = this.atomic ? 8 : 2;
    this.client.defineCommand('tgCreate', { numberOfKeys: tokenKeys, lua: tokenScript(CREATE, this.atomic) });
    this.client.defineCommand('tgUpdate', { numberOfKeys: tokenKeys, lua: tokenScript(UPDATE, this.atomic) });
    this.client.defineCommand('tgDelete', { numberOfKeys: tokenKeys, lua: tokenScript(DELETE, this.atomic) });
    this.client.defineCommand('tgTouch', { numberOfKeys: 1, lua: TOUCH });
    this.client.defineCommand('tgBump', { numberOfKeys: 2, lua: BUMP });
    this.client.defineCommand('tgChange', { numberOfKeys: 5, lua: CHANGE });
    this.client.defineCommand('tgRecord', { numberOfKeys: 3, lua: RECORD });
    this.client.defineCommand('tgOrganization', { numberOfKeys: 3, lua: ORGANIZATION });
    this.client.defineCommand('tgTake', { numberOfKeys: 1, lua: TAKE });
    this.client.defineCommand('tgSettle', { numberOfKeys: 2, lua: SETTLE });
    this.client.defineCommand('tgOnce', { numberOfKeys: 2, lua: ONCE });
    this.client.defineCommand('tgLease', { numberOfKeys: 1, lua: LEASE });
    this.client.defineCommand('tgBudgetTake', { numberOfKeys: 2, lua: BUDGET_TAKE });
    this.client.defineCommand('tgBudgetReturn', { numberOfKeys: 1, lua: BUDGET_RETURN });
    this.client.defineCommand('tgUsageAdd', { numberOfKeys: 1, lua: USAGE_ADD });
  }

  /**
   * The list index, loaded with the first list: a proxy replica never lists, so it neither holds
   * the copy nor loads its code.
   */
  private index: Promise<RedisTokenIndex> | undefined;
  private listIndex(): Promise<RedisTokenIndex> {
    this.index ??= import('./redis-token-index.js').then(
      ({ RedisTokenIndex }) => new RedisTokenIndex({ client: this.client, changesKey: this.keys.changes, fetch: (ids) => this.fetchSummaries(ids) }),
    );
    return this.index;
  }

  /** How long the event stream keeps events (events.retention). */
  private eventRetentionMs = EVENT_RETENTION_MS;

  keepEventsFor(ms: number): void {
    this.eventRetentionMs = ms;
  }
  /** One server holds every key: a token's change and its counters are one script. */
  private readonly atomic: boolean;

  /** The keys a token script takes: the token's own, then (atomic) the {idx} keys of its change. */
  private tokenKeys(id: string): string[] {
    const own = [this.keys.token(id), this.keys.history(id)];
    return this.atomic ? [...own, ...this.keys.changeKeys, this.keys.eventStream] : own;
  }

  /**
   * The events argument of a write script (see EMIT in redis-scripts.ts). On Cluster the stream
   * is in another slot than the write: the script gets none and appendAfter() adds them.
   */
  private eventArgs(events: readonly OutEvent[] | undefined): string[] {
    const list = this.atomic ? (events ?? []) : [];
    // MINID is in Redis's time (stream ids are the server's clock), not an injected clock.
    const args = [String(Date.now() - this.eventRetentionMs), String(list.length)];
    for (const event of list) args.push(event.id, event.type, JSON.stringify(event));
    return args;
  }

  /**
   * Cluster only: appends a write's events after it (its keys and the stream are in different
   * slots). A crash between the two loses the events; docs/webhooks.md says so.
   */
  private async appendAfter(op: string, events: readonly OutEvent[] | undefined): Promise<void> {
    if (this.atomic || !events || events.length === 0) return;
    const minId = String(Date.now() - this.eventRetentionMs);
    for (const event of events) {
      await this.run(op, () =>
        this.client.xadd(this.keys.eventStream, 'MINID', '~', minId, '*', 'id', event.id, 'type', event.type, 'e', JSON.stringify(event)),
      );
    }
  }

  /**
   * A user, team or repository write with its events: one script where every key is on one
   * server, else the write and then the events (Cluster: its keys are in different slots).
   */
  private async record(
    op: string,
    write: { mode: 'set' | 'setnx' | 'del'; key: string; field: string; value?: string; entry?: HistoryEntry; historyKey?: string },
    events: readonly OutEvent[] | undefined,
  ): Promise<boolean> {
    if (this.atomic) {
      const entry = write.entry === undefined ? '' : JSON.stringify(write.entry);
      const keys = [write.key, write.historyKey ?? write.key, this.keys.eventStream];
      const done = await this.run(op, () => this.client.tgRecord(...keys, ...this.eventArgs(events), write.mode, write.field, write.value ?? '', entry));
      return done === 1;
    }
    let done: boolean;
    if (write.mode === 'set') done = (await this.run(op, () => this.client.hset(write.key, write.field, write.value!))) >= 0;
    else if (write.mode === 'setnx') done = (await this.run(op, () => this.client.hsetnx(write.key, write.field, write.value!))) === 1;
    else done = (await this.run(op, () => this.client.hdel(write.key, write.field))) === 1;
    if (!done) return false;
    if (write.entry !== undefined) await this.run(op, () => this.client.rpush(write.historyKey!, JSON.stringify(write.entry)));
    await this.appendAfter(op, events);
    return true;
  }

  /** Records in the change log that these tokens changed (after their own write succeeded). */
  private async bump(op: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.run(op, () => this.client.tgBump(this.keys.seq, this.keys.changes, ...ids));
  }

  /**
   * Logs a token's change of state and moves it between the counters (Cluster: after its own
   * script). The token is written by then, so a failure here is not the caller's: the write
   * stands, and reconcile() repairs the counters (and the list index re-reads on its next sync).
   */
  private async change(op: string, id: string, old: readonly string[] | undefined, next: TokenRecord | undefined): Promise<void> {
    if (this.atomic) return; // done inside the token's own script
    // run() has counted the failure (store health, store_errors_total); nothing to tell the caller.
    await this.run(op, () => this.client.tgChange(...this.keys.changeKeys, id, old?.[0] ?? '', old?.[1] ?? '', ...stateArgs(next))).catch(() => {});
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
    const [, , countsKey, repositoryExpiry, personalExpiry] = this.keys.changeKeys;
    await this.run('reconcile', async () => {
      await this.client.del(countsKey, repositoryExpiry, personalExpiry);
      if (counts.size > 0) await this.client.hset(countsKey, Object.fromEntries(counts));
      for (const [key, members] of [
        [repositoryExpiry, expiry.repository],
        [personalExpiry, expiry.personal],
      ] as const) {
        for (let i = 0; i < members.length; i += 2000) await this.client.zadd(key, ...members.slice(i, i + 2000));
      }
    });
    for (let i = 0; i < ids.length; i += 1000) await this.bump('reconcile', ids.slice(i, i + 1000));
    return { tokens: ids.length };
  }

  /** Every stored token id, by SCAN over every master (a Cluster keeps tokens on all of them). */
  private async allTokenIds(): Promise<string[]> {
    const head = this.keys.tokenHead;
    const pattern = `${head.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const nodes = 'nodes' in this.client ? this.client.nodes('master') : [this.client];
    const ids: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.run('reconcile', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
        cursor = next;
        for (const key of keys) ids.push(key.slice(head.length, -1));
      } while (cursor !== '0');
    }
    return ids;
  }

  async countTokens(now: number): Promise<TokenCount[]> {
    const counts = await this.run('countTokens', () => this.client.hgetall(this.keys.counts));
    const out: TokenCount[] = [];
    for (const kind of ['repository', 'personal'] as const) {
      const expired = await this.run('countTokens', () => this.client.zcount(this.keys.expiry(kind), '-inf', now));
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
    const replies = await this.run('listTokens', () => Promise.all(ids.map((id) => this.client.hmget(this.keys.token(id), ...SUMMARY_FIELDS))));
    return replies.map(summaryFrom);
  }

  async getTokens(ids: readonly string[]): Promise<Array<TokenRecord | undefined>> {
    if (ids.length === 0) return [];
    const replies = await this.run('getTokens', () => Promise.all(ids.map((id) => this.client.hgetall(this.keys.token(id)))));
    return replies.map(fromFields);
  }

  /** Resolves once the first connection is up, or after `withinMs` (the store may come later). */
  async waitUntilReady(withinMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), withinMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => finish(true);
      this.client.on('ready', onReady);
    });
  }

  // Usage history (docs/usage.md): a hash per token per UTC day (in the token's slot), its fields
  // per hour, added to with HINCRBY so every replica's counts sum; and per day a hash of the tokens
  // used that day with their repositories, for GET /v1/usage. Both expire `usage.retention` after
  // the day ends.

  private usageRetentionMs = USAGE_RETENTION_MS;

  keepUsageFor(ms: number): void {
    this.usageRetentionMs = ms;
  }

  async addUsage(counts: readonly UsageCount[], now: number): Promise<void> {
    const byDay = new Map<string, { tokenId: string; repository: string; day: number; fields: string[]; counts: UsageCount[] }>();
    for (const count of counts) {
      const day = dayOf(count.hour);
      const name = this.keys.usage(count.tokenId, day);
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
    await this.run('addUsage', () =>
      Promise.all(
        entries.map(([, entry]) => {
          const key = this.keys.usageDay(entry.day);
          return this.client.hset(key, entry.tokenId, entry.repository).then(() => this.client.pexpire(key, ttl(entry.day)));
        }),
      ),
    );
    // Each token-day is one script, counted whole or not at all; only those that failed are handed back.
    const settled = await Promise.allSettled(
      entries.map(([name, entry]) => this.run('addUsage', () => this.client.tgUsageAdd(name, ttl(entry.day), ...entry.fields))),
    );
    const unwritten = entries.flatMap(([, entry], i) => (settled[i]!.status === 'rejected' ? entry.counts : []));
    if (unwritten.length > 0) throw new UsageNotWritten(unwritten, (settled.find((one) => one.status === 'rejected') as PromiseRejectedResult).reason);
  }

  async usageOf(tokenId: string, from: number, to: number): Promise<UsageHour[]> {
    const days: number[] = [];
    for (let day = dayOf(from); day < to; day += DAY_MS) days.push(day);
    const replies = await this.run('usageOf', () => Promise.all(days.map((day) => this.client.hgetall(this.keys.usage(tokenId, day)))));
    return replies.flatMap((fields) => usageHours(fields)).filter((hour) => hour.hour >= from && hour.hour < to);
  }

  async usedTokens(from: number, to: number): Promise<UsedToken[]> {
    const days: number[] = [];
    for (let day = dayOf(from); day < to; day += DAY_MS) days.push(day);
    const replies = await this.run('usedTokens', () => Promise.all(days.map((day) => this.client.hgetall(this.keys.usageDay(day)))));
    const seen = new Map<string, string>();
    for (const fields of replies) for (const [tokenId, repository] of Object.entries(fields)) seen.set(tokenId, repository);
    return [...seen].map(([tokenId, repository]) => ({ tokenId, repository }));
  }

  /** When a command last succeeded (epoch ms): what ping() answers from while it is recent. */
  private lastOkAt = 0;

  private async run<T>(op: string, command: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await command();
    } catch (err) {
      this.lastOkAt = 0; // a failure is news: the next probe asks Redis itself
      if (this.isAnswering) {
        this.isAnswering = false;
        this.health?.onOutage(op, err);
      }
      throw new StoreUnavailableError(op, err);
    }
    this.lastOkAt = Date.now();
    if (!this.isAnswering) {
      this.isAnswering = true;
      this.health?.onRecovery();
    }
    return result;
  }

  watchHealth(listener: StoreHealthListener): void {
    this.health = listener;
    // 'ready' follows every (re)connect; the first one is the start, not news.
    let isFirstReady = this.client.status !== 'ready';
    this.client.on('ready', () => {
      if (!isFirstReady) listener.onReconnect('commands');
      isFirstReady = false;
    });
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const fields = await this.run('getToken', () => this.client.hgetall(this.keys.token(id)));
    return fromFields(fields);
  }

  async createToken(record: TokenRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean> {
    const created = await this.run('createToken', () =>
      this.client.tgCreate(
        ...this.tokenKeys(record.id),
        ...this.eventArgs(events),
        JSON.stringify(entry),
        record.id,
        ...stateArgs(record),
        ...allFields(record),
      ),
    );
    if (created === 1) {
      await this.appendAfter('createToken', events);
      await this.change('createToken', record.id, undefined, record);
    }
    return created === 1;
  }

  async updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome> {
    const reply = await this.run('updateToken', () =>
      this.client.tgUpdate(
        ...this.tokenKeys(record.id),
        ...this.eventArgs(events),
        JSON.stringify(entry),
        String(expectedVersion),
        record.id,
        ...stateArgs(record),
        ...toFields(record),
      ),
    );
    if (Array.isArray(reply)) {
      await this.appendAfter('updateToken', events);
      await this.change('updateToken', record.id, reply, record);
    }
    return outcomeOf(reply);
  }

  async deleteToken(id: string, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome> {
    const reply = await this.run('deleteToken', () =>
      this.client.tgDelete(...this.tokenKeys(id), ...this.eventArgs(events), JSON.stringify(entry), String(expectedVersion), id),
    );
    if (Array.isArray(reply)) {
      await this.appendAfter('deleteToken', events);
      await this.change('deleteToken', id, reply, undefined);
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
    const items = await this.run('history', () => this.client.lrange(this.keys.history(id), 0, -1));
    return items.map((item) => JSON.parse(item) as HistoryEntry);
  }

  async touchLastUsed(uses: ReadonlyMap<string, LastUse>): Promise<void> {
    if (uses.size === 0) return;
    const ids = [...uses.keys()];
    const replies = await this.run('touchLastUsed', () =>
      Promise.all(
        ids.map((id) => {
          const use = uses.get(id)!;
          return this.client.tgTouch(this.keys.token(id), String(use.at), use.ip ?? '', use.userAgent ?? '');
        }),
      ),
    );
    const touched = ids.filter((_, i) => replies[i] === 1);
    await this.bump('touchLastUsed', touched);
  }

  async countExpiring(now: number, until: number): Promise<Record<'repository' | 'personal', number>> {
    const [repository, personal] = await this.run('countExpiring', () =>
      Promise.all([this.client.zcount(this.keys.expiry('repository'), `(${now}`, until), this.client.zcount(this.keys.expiry('personal'), `(${now}`, until)]),
    );
    return { repository, personal };
  }

  // Teams: one hash of JSON records, a history list per team, and per user the set of teams
  // naming them (what a cache miss reads). The team record is written first and is the truth:
  // teamsOf() keeps only teams whose members include the user, so a crash between the writes
  // can leave a user short of a team's grants, never holding one they lost.

  async putTeam(record: TeamRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<void> {
    const before = await this.getTeam(record.name);
    await this.record(
      'putTeam',
      { mode: 'set', key: this.keys.teams, field: record.name, value: JSON.stringify(record), entry, historyKey: this.keys.teamHistory(record.name) },
      events,
    );
    const gone = (before?.members ?? []).filter((user) => !record.members.includes(user));
    await this.run('putTeam', () =>
      Promise.all([
        ...record.members.map((user) => this.client.sadd(this.keys.userTeams(user), record.name)),
        ...gone.map((user) => this.client.srem(this.keys.userTeams(user), record.name)),
      ]),
    );
  }

  async getTeam(name: string): Promise<TeamRecord | undefined> {
    const raw = await this.run('getTeam', () => this.client.hget(this.keys.teams, name));
    return raw ? (JSON.parse(raw) as TeamRecord) : undefined;
  }

  async listTeams(): Promise<TeamRecord[]> {
    const all = await this.run('listTeams', () => this.client.hvals(this.keys.teams));
    return all.map((raw) => JSON.parse(raw) as TeamRecord);
  }

  async deleteTeam(name: string, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean> {
    const before = await this.getTeam(name);
    if (!before) return false;
    if (!(await this.record('deleteTeam', { mode: 'del', key: this.keys.teams, field: name, entry, historyKey: this.keys.teamHistory(name) }, events)))
      return false;
    await this.run('deleteTeam', () => Promise.all(before.members.map((user) => this.client.srem(this.keys.userTeams(user), name))));
    return true;
  }

  async teamHistory(name: string): Promise<HistoryEntry[]> {
    const items = await this.run('teamHistory', () => this.client.lrange(this.keys.teamHistory(name), 0, -1));
    return items.map((item) => JSON.parse(item) as HistoryEntry);
  }

  async teamsOf(user: string): Promise<TeamRecord[]> {
    const names = await this.run('teamsOf', () => this.client.smembers(this.keys.userTeams(user)));
    if (names.length === 0) return [];
    const raws = await this.run('teamsOf', () => this.client.hmget(this.keys.teams, ...names));
    const teams: TeamRecord[] = [];
    for (const raw of raws) {
      if (raw === null) continue;
      const team = JSON.parse(raw) as TeamRecord;
      if (team.members.includes(user)) teams.push(team);
    }
    return teams;
  }

  async createRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean> {
    // A repository of `default` written as before (no field), so older replicas read it alike.
    return (await this.organizationWrite('createRepository', 'create-repository', record.name, JSON.stringify(record), events, organizationOf(record))) === 1;
  }

  /** HSETXX-like: only over a repository that exists (HEXISTS then HSET would race a delete; a delete racing this is rare and harmless: the next delete removes it). */
  async putRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean> {
    if ((await this.run('putRepository', () => this.client.hexists(this.keys.repositories, record.name))) === 0) return false;
    await this.record('putRepository', { mode: 'set', key: this.keys.repositories, field: record.name, value: JSON.stringify(record) }, events);
    return true;
  }

  async getRepository(name: string): Promise<RepositoryRecord | undefined> {
    const raw = await this.run('getRepository', () => this.client.hget(this.keys.repositories, name));
    return raw ? (JSON.parse(raw) as RepositoryRecord) : undefined;
  }

  async listRepositories(): Promise<RepositoryRecord[]> {
    const all = await this.run('listRepositories', () => this.client.hvals(this.keys.repositories));
    return all.map((raw) => JSON.parse(raw) as RepositoryRecord);
  }

  deleteRepository(name: string, events?: readonly OutEvent[]): Promise<boolean> {
    return this.record('deleteRepository', { mode: 'del', key: this.keys.repositories, field: name }, events);
  }

  // Organizations (docs/organizations.md): a hash in the slot of `repositories`, written by one
  // script that also creates repositories, so a delete sees every repository of its organization.

  private async organizationWrite(
    op: string,
    mode: string,
    name: string,
    value: string,
    events: readonly OutEvent[] | undefined,
    organization = '',
  ): Promise<number> {
    const keys = [this.keys.organizations, this.keys.repositories, this.atomic ? this.keys.eventStream : this.keys.organizations];
    const done = await this.run(op, () =>
      this.client.tgOrganization(...keys, ...this.eventArgs(events), mode, name, value, organization, DEFAULT_ORGANIZATION),
    );
    if (done === 1) await this.appendAfter(op, events);
    return done;
  }

  async createOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return (await this.organizationWrite('createOrganization', 'create-organization', record.name, JSON.stringify(record), events)) === 1;
  }

  async putOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return (await this.organizationWrite('putOrganization', 'put-organization', record.name, JSON.stringify(record), events)) === 1;
  }

  async getOrganization(name: string): Promise<OrganizationRecord | undefined> {
    const raw = await this.run('getOrganization', () => this.client.hget(this.keys.organizations, name));
    if (raw) return JSON.parse(raw) as OrganizationRecord;
    return name === DEFAULT_ORGANIZATION ? defaultOrganization() : undefined;
  }

  async listOrganizations(): Promise<OrganizationRecord[]> {
    const all = (await this.run('listOrganizations', () => this.client.hvals(this.keys.organizations))).map((raw) => JSON.parse(raw) as OrganizationRecord);
    return all.some((org) => org.name === DEFAULT_ORGANIZATION) ? all : [defaultOrganization(), ...all];
  }

  async deleteOrganization(name: string, events?: readonly OutEvent[]): Promise<OrganizationDeleteOutcome> {
    const done = await this.organizationWrite('deleteOrganization', 'delete-organization', name, '', events);
    return done === 1 ? 'deleted' : done === 2 ? 'not-empty' : 'missing';
  }

  async putUser(record: UserRecord, events?: readonly OutEvent[]): Promise<void> {
    await this.record('putUser', { mode: 'set', key: this.keys.users, field: record.name, value: JSON.stringify(record) }, events);
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const raw = await this.run('getUser', () => this.client.hget(this.keys.users, name));
    return raw ? (JSON.parse(raw) as UserRecord) : undefined;
  }

  async listUsers(): Promise<UserRecord[]> {
    const all = await this.run('listUsers', () => this.client.hvals(this.keys.users));
    return all.map((raw) => JSON.parse(raw) as UserRecord);
  }

  deleteUser(name: string, events?: readonly OutEvent[]): Promise<boolean> {
    return this.record('deleteUser', { mode: 'del', key: this.keys.users, field: name }, events);
  }

  // The outbox (docs/webhooks.md): one stream, a consumer group per webhook, a hash per delivery.

  async openQueue(webhook: string): Promise<void> {
    try {
      // '$': a new webhook's own events are those from now on.
      await this.client.xgroup('CREATE', this.keys.eventStream, webhook, '$', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw new StoreUnavailableError('openQueue', err);
    }
    await this.forgetGoneConsumers(webhook).catch(() => {}); // tidying only: a failure changes nothing
  }

  /**
   * Each process is a new consumer of the group (its name has the pid and a random part), so
   * restarts would pile names up: those holding nothing and idle for a day are dropped.
   */
  private async forgetGoneConsumers(webhook: string): Promise<void> {
    const consumers = (await this.client.xinfo('CONSUMERS', this.keys.eventStream, webhook)) as unknown[][];
    for (const consumer of consumers) {
      const info = new Map<string, unknown>();
      for (let i = 0; i < consumer.length; i += 2) info.set(String(consumer[i]), consumer[i + 1]);
      if (Number(info.get('pending')) === 0 && Number(info.get('idle')) > 86_400_000) {
        await this.client.xgroup('DELCONSUMER', this.keys.eventStream, webhook, String(info.get('name')));
      }
    }
  }

  async take(webhook: string, consumer: string, wants: readonly string[], now: number, leaseMs: number): Promise<Taken> {
    const take = () =>
      this.client.tgTake(
        this.keys.eventStream,
        webhook,
        consumer,
        String(now),
        String(leaseMs),
        this.keys.deliveryHead(webhook),
        wants.join(','),
        String(this.eventRetentionMs),
      );
    const reply = await this.run('take', async () => {
      try {
        return await take();
      } catch (err) {
        // The stream or group went (a FLUSHDB, a failover to a replica that never had it): make it again.
        if (!String((err as Error).message).includes('NOGROUP')) throw err;
        await this.openQueue(webhook);
        return take();
      }
    });
    if (reply[0] === 'idle') return { kind: 'idle' };
    if (reply[0] === 'wait') return { kind: 'wait', until: Number(reply[1]) };
    const fields = new Map<string, string>();
    for (let i = 2; i < reply.length; i += 2) fields.set(reply[i]!, reply[i + 1]!);
    return { kind: 'event', event: JSON.parse(reply[1]!) as OutEvent, delivery: deliveryFrom(fields) };
  }

  async settle(webhook: string, event: OutEvent, attempt: Attempt, now: number): Promise<void> {
    const key = this.keys.deliveryHead(webhook) + event.id;
    const fields = await this.run('settle', () => this.client.hgetall(key));
    if (fields.state === undefined) return;
    const after = settled(deliveryFrom(new Map(Object.entries(fields))), attempt, now);
    const done = after.state === 'delivered' || after.state === 'failed' ? '1' : '0';
    await this.run('settle', () => this.client.tgSettle(this.keys.eventStream, key, webhook, done, ...deliveryArgs(after)));
  }

  async backlog(webhook: string): Promise<number> {
    const groups = (await this.run('backlog', () => this.client.xinfo('GROUPS', this.keys.eventStream))) as unknown[][];
    for (const group of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i < group.length; i += 2) info.set(String(group[i]), group[i + 1]);
      if (info.get('name') === webhook) return Number(info.get('pending') ?? 0) + Number(info.get('lag') ?? 0);
    }
    return 0;
  }

  async recentEvents(limit: number, webhooks: readonly string[]): Promise<EventWithDeliveries[]> {
    const entries = await this.run('recentEvents', () => this.client.xrevrange(this.keys.eventStream, '+', '-', 'COUNT', limit));
    const events = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('e') + 1]!) as OutEvent);
    const hashes = await this.run('recentEvents', () =>
      Promise.all(events.flatMap((event) => webhooks.map((webhook) => this.client.hgetall(this.keys.deliveryHead(webhook) + event.id)))),
    );
    return events.map((event, i) => {
      const deliveries = new Map<string, Delivery>();
      webhooks.forEach((webhook, j) => {
        const fields = hashes[i * webhooks.length + j]!;
        if (fields.state !== undefined) deliveries.set(webhook, deliveryFrom(new Map(Object.entries(fields))));
      });
      return { ...event, deliveries };
    });
  }

  async appendEventOnce(key: string, event: OutEvent, keepUntil: number): Promise<boolean> {
    const minId = String(Date.now() - this.eventRetentionMs);
    const added = await this.run('appendEventOnce', () =>
      this.client.tgOnce(
        this.keys.eventOnce,
        this.keys.eventStream,
        key,
        String(keepUntil),
        String(event.at),
        minId,
        event.id,
        event.type,
        JSON.stringify(event),
      ),
    );
    return added === 1;
  }

  async tokensExpiringBetween(from: number, until: number): Promise<string[]> {
    const [repository, personal] = await this.run('tokensExpiringBetween', () =>
      Promise.all([
        this.client.zrangebyscore(this.keys.expiry('repository'), `(${from}`, until),
        this.client.zrangebyscore(this.keys.expiry('personal'), `(${from}`, until),
      ]),
    );
    return [...repository, ...personal];
  }

  /** The lease's time is Redis's own (PX), not `now`. */
  async lease(name: string, holder: string, ms: number, _now?: number): Promise<boolean> {
    return (await this.run('lease', () => this.client.tgLease(this.keys.lease(name), holder, String(ms)))) === 1;
  }

  /** One script per lease; both keys carry the token's hash tag, so this runs on a Cluster too. */
  async takeBudget(key: BudgetKey, take: BudgetTake): Promise<BudgetGrant> {
    const current = this.keys.budget(key.tokenId, key.limit, key.window);
    const prior = take.prior ? this.keys.budget(key.tokenId, key.limit, take.prior.window) : current;
    const [granted, left] = await this.run('takeBudget', () =>
      this.client.tgBudgetTake(
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
    await this.run('returnBudget', () => this.client.tgBudgetReturn(this.keys.budget(key.tokenId, key.limit, key.window), String(amount)));
  }

  /** Counters expire by Redis's own clock (PX), so `now` is not needed here. */
  async readBudgets(keys: readonly BudgetKey[], _now: number): Promise<number[]> {
    if (keys.length === 0) return [];
    // One key at a time: on a Cluster different tokens' counters live in different slots.
    const values = await this.run('readBudgets', () => Promise.all(keys.map((key) => this.client.get(this.keys.budget(key.tokenId, key.limit, key.window)))));
    return values.map((value) => Number(value ?? 0));
  }

  async publish(message: Invalidation): Promise<void> {
    await this.run('publish', () => this.client.publish(this.keys.invalidations, JSON.stringify(message)));
  }

  subscribe(listener: InvalidationListener): void {
    if (!this.subscriber) {
      // A subscribed connection can run no other command, so it is a connection of its own.
      this.subscriber = connectRedis(this.options, 'subscriber');
      void this.subscriber.subscribe(this.keys.invalidations, this.keys.heartbeats).catch(() => {});
      this.watch = new ChannelWatch({
        intervalMs: this.options.heartbeatMs ?? 2000,
        now: () => Date.now(),
        // Heartbeats go on a channel of their own: a replica of an earlier version reads an
        // unknown message on the invalidation channel as "clear everything".
        beat: () => this.client.publish(this.keys.heartbeats, '1'),
        onSilent: (silentMs) => {
          for (const each of this.listeners) each.onReset();
          this.renewSubscriber();
          this.options.onChannelSilent?.(silentMs);
        },
      });
      this.watch.start();
      this.subscriber.on('message', (channel: string) => {
        if (channel === this.keys.invalidations || channel === this.keys.heartbeats) this.watch?.heard();
      });
    }
    this.listeners.push(listener);
    let isFirstReady = true;
    this.subscriber.on('ready', () => {
      if (!isFirstReady) {
        this.health?.onReconnect('subscriber');
        listener.onReset();
      }
      isFirstReady = false;
    });
    this.subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.keys.invalidations) return;
      try {
        listener.onMessage(JSON.parse(payload) as Invalidation);
      } catch {
        listener.onReset(); // a message we cannot read may have named anything
      }
    });
  }

  /**
   * Drops the subscriber's connection and subscribes again on the new one: a deaf connection may
   * still look healthy, and a subscription lost on it would not be restored by reconnecting alone.
   */
  private renewSubscriber(): void {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    subscriber.disconnect(true);
    void subscriber.subscribe(this.keys.invalidations, this.keys.heartbeats).catch(() => {});
  }

  /**
   * Answers from the connection's state and the last successful command when that was within
   * a second (probes and scrapes then cost no round trip), else with a real PING.
   */
  async claimName(scope: string, name: string, ttlMs: number): Promise<boolean> {
    const key = this.keys.nameClaim(nameDigest(scope, name));
    return (await this.run('claimName', () => this.client.set(key, '1', 'PX', ttlMs, 'NX'))) === 'OK';
  }

  async releaseName(scope: string, name: string): Promise<void> {
    const key = this.keys.nameClaim(nameDigest(scope, name));
    await this.run('releaseName', () => this.client.del(key));
  }

  async ping(): Promise<void> {
    if (this.client.status === 'ready' && Date.now() - this.lastOkAt < 1000) return;
    await this.run('ping', () => this.client.ping());
  }

  async close(): Promise<void> {
    this.watch?.stop();
    this.client.disconnect();
    this.subscriber?.disconnect();
  }
}

const numberOrNull = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));

/** A delivery from its hash fields (absent and empty fields are null). */
function deliveryFrom(fields: ReadonlyMap<string, string>): Delivery {
  return {
    state: (fields.get('state') ?? 'sending') as Delivery['state'],
    attempts: Number(fields.get('attempts') ?? 0),
    lastAttemptAt: numberOrNull(fields.get('lastAttemptAt')),
    leaseUntil: numberOrNull(fields.get('leaseUntil')),
    nextAttemptAt: numberOrNull(fields.get('nextAttemptAt')),
    deliveredAt: numberOrNull(fields.get('deliveredAt')),
    lastStatus: numberOrNull(fields.get('lastStatus')),
    lastError: fields.get('lastError') || null,
  };
}

/** A delivery as hash fields and values (null as ''). */
function deliveryArgs(delivery: Delivery): string[] {
  return Object.entries(delivery).flatMap(([key, value]) => [key, value === null ? '' : String(value)]);
}

/** A fixed-length key part for a name in its scope (a name may hold any printable character). */
const nameDigest = (scope: string, name: string): string => createHash('sha256').update(`${scope}\n${name}`).digest('base64url').slice(0, 32);
