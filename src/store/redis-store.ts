import type { HistoryEntry, RepositoryRecord, Right, TokenRecord, UserRecord } from '../tokens/record.js';
import { connectRedis, type RedisClient, type RedisTopology } from './redis-connection.js';
import { RedisTokenIndex } from './redis-token-index.js';
import { StoreUnavailableError, type Invalidation, type TokenCount, type InvalidationListener, type TokenStore } from './token-store.js';

export interface RedisStoreOptions extends RedisTopology {
  keyPrefix: string;
}

// Each script touches only keys that share the token's {id} hash tag, so it runs on a Cluster too.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1`;
// UPDATE and DELETE answer the kind and status the token had, for the counters below.
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = redis.call('HMGET', KEYS[1], 'kind', 'status')
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('RPUSH', KEYS[2], ARGV[1])
return old`;
const DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = redis.call('HMGET', KEYS[1], 'kind', 'status')
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
return old`;
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'lastUsedAt')) or 0
if current < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1]) end
return 1`;

// The change log behind the list index: one sequence and one sorted set, both under {idx}.
const BUMP = `
for i = 1, #ARGV do
  local seq = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[2], seq, ARGV[i])
end
return 1`;

// A change of state: the change log as above, plus counts by kind:status and, per kind, the
// expiry of stored-active tokens, so tollgate_tokens is read without loading every token.
// ARGV: id, old kind, old status, new kind, new status, new expiresAt ('' = none).
const CHANGE = `
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
if ARGV[2] ~= '' then
  redis.call('HINCRBY', KEYS[3], ARGV[2] .. ':' .. ARGV[3], -1)
  redis.call('ZREM', ARGV[2] == 'personal' and KEYS[5] or KEYS[4], ARGV[1])
end
if ARGV[4] ~= '' then
  redis.call('HINCRBY', KEYS[3], ARGV[4] .. ':' .. ARGV[5], 1)
  if ARGV[5] == 'active' and ARGV[6] ~= '' then
    redis.call('ZADD', ARGV[4] == 'personal' and KEYS[5] or KEYS[4], ARGV[6], ARGV[1])
  end
end
return seq`;

interface Scripts {
  tgBump(seq: string, changes: string, ...ids: string[]): Promise<number>;
  tgChange(...keysAndArgs: string[]): Promise<number>;
  tgCreate(token: string, history: string, ...args: string[]): Promise<number>;
  tgUpdate(token: string, history: string, ...args: string[]): Promise<0 | [string, string]>;
  tgDelete(token: string, history: string, entry: string): Promise<0 | [string, string]>;
  tgTouch(token: string, at: string): Promise<number>;
}

const optionalTime = (value: string | undefined): number | null => (value ? Number(value) : null);

/** A token as the fields of one Redis hash; null is written as the empty string. */
function toFields(record: TokenRecord): string[] {
  return [
    'id', record.id,
    'hash', record.hash,
    'kind', record.kind,
    'name', record.name,
    'repository', record.repository,
    'user', record.user ?? '',
    'rights', record.rights.join(','),
    'status', record.status,
    'prefix', record.prefix,
    'createdAt', String(record.createdAt),
    'createdBy', record.createdBy,
    'updatedAt', String(record.updatedAt),
    'expiresAt', record.expiresAt === null ? '' : String(record.expiresAt),
    'revokedAt', record.revokedAt === null ? '' : String(record.revokedAt),
    'lastUsedAt', record.lastUsedAt === null ? '' : String(record.lastUsedAt),
  ];
}

function fromFields(fields: Record<string, string>): TokenRecord | undefined {
  if (!fields.id) return undefined;
  return {
    id: fields.id,
    hash: fields.hash ?? '',
    kind: fields.kind === 'personal' ? 'personal' : 'repository',
    name: fields.name ?? '',
    repository: fields.repository ?? '',
    user: fields.user ? fields.user : null,
    rights: fields.rights ? (fields.rights.split(',') as Right[]) : [],
    status: fields.status === 'revoked' ? 'revoked' : 'active',
    prefix: fields.prefix ?? '',
    createdAt: Number(fields.createdAt),
    createdBy: fields.createdBy ?? '',
    updatedAt: Number(fields.updatedAt),
    expiresAt: optionalTime(fields.expiresAt),
    revokedAt: optionalTime(fields.revokedAt),
    lastUsedAt: optionalTime(fields.lastUsedAt),
  };
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
  private readonly prefix: string;
  private readonly channel: string;

  constructor(private readonly options: RedisStoreOptions) {
    this.prefix = options.keyPrefix;
    this.channel = `${options.keyPrefix}invalidate`;
    this.client = connectRedis(options, 'commands') as RedisClient & Scripts;
    this.client.defineCommand('tgCreate', { numberOfKeys: 2, lua: CREATE });
    this.client.defineCommand('tgUpdate', { numberOfKeys: 2, lua: UPDATE });
    this.client.defineCommand('tgDelete', { numberOfKeys: 2, lua: DELETE });
    this.client.defineCommand('tgTouch', { numberOfKeys: 1, lua: TOUCH });
    this.client.defineCommand('tgBump', { numberOfKeys: 2, lua: BUMP });
    this.client.defineCommand('tgChange', { numberOfKeys: 5, lua: CHANGE });
    this.index = new RedisTokenIndex({
      client: this.client,
      changesKey: this.changesKey,
      fetch: (ids) => this.fetchTokens(ids),
    });
  }

  private readonly index: RedisTokenIndex;

  private get seqKey(): string {
    return `${this.prefix}{idx}:seq`;
  }

  private get changesKey(): string {
    return `${this.prefix}{idx}:changes`;
  }

  /** Records in the change log that these tokens changed (after their own write succeeded). */
  private async bump(op: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.run(op, () => this.client.tgBump(this.seqKey, this.changesKey, ...ids));
  }

  /** Logs a token's change of state and moves it between the counters. */
  private async change(op: string, id: string, old: readonly string[] | undefined, next: TokenRecord | undefined): Promise<void> {
    const p = `${this.prefix}{idx}`;
    await this.run(op, () =>
      this.client.tgChange(
        this.seqKey,
        this.changesKey,
        `${p}:counts`,
        `${p}:expiry:repository`,
        `${p}:expiry:personal`,
        id,
        old?.[0] ?? '',
        old?.[1] ?? '',
        next?.kind ?? '',
        next?.status ?? '',
        next?.expiresAt === null || next === undefined ? '' : String(next.expiresAt),
      ),
    );
  }

  async countTokens(now: number): Promise<TokenCount[]> {
    const p = `${this.prefix}{idx}`;
    const counts = await this.run('countTokens', () => this.client.hgetall(`${p}:counts`));
    const out: TokenCount[] = [];
    for (const kind of ['repository', 'personal'] as const) {
      const expired = await this.run('countTokens', () => this.client.zcount(`${p}:expiry:${kind}`, '-inf', now));
      out.push(
        { kind, status: 'active', count: Number(counts[`${kind}:active`] ?? 0) - expired },
        { kind, status: 'expired', count: expired },
        { kind, status: 'revoked', count: Number(counts[`${kind}:revoked`] ?? 0) },
      );
    }
    return out;
  }

  private async fetchTokens(ids: string[]): Promise<Array<TokenRecord | undefined>> {
    const replies = await this.run('listTokens', () => Promise.all(ids.map((id) => this.client.hgetall(this.tokenKey(id)))));
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

  private tokenKey(id: string): string {
    return `${this.prefix}token:{${id}}`;
  }

  private historyKey(id: string): string {
    return `${this.prefix}history:{${id}}`;
  }

  private async run<T>(op: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw new StoreUnavailableError(op, err);
    }
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const fields = await this.run('getToken', () => this.client.hgetall(this.tokenKey(id)));
    return fromFields(fields);
  }

  async createToken(record: TokenRecord, entry: HistoryEntry): Promise<boolean> {
    const created = await this.run('createToken', () =>
      this.client.tgCreate(this.tokenKey(record.id), this.historyKey(record.id), JSON.stringify(entry), ...toFields(record)),
    );
    if (created === 1) await this.change('createToken', record.id, undefined, record);
    return created === 1;
  }

  async updateToken(record: TokenRecord, entry: HistoryEntry): Promise<boolean> {
    const updated = await this.run('updateToken', () =>
      this.client.tgUpdate(this.tokenKey(record.id), this.historyKey(record.id), JSON.stringify(entry), ...toFields(record)),
    );
    if (updated !== 0) await this.change('updateToken', record.id, updated, record);
    return updated !== 0;
  }

  async deleteToken(id: string, entry: HistoryEntry): Promise<boolean> {
    const deleted = await this.run('deleteToken', () =>
      this.client.tgDelete(this.tokenKey(id), this.historyKey(id), JSON.stringify(entry)),
    );
    if (deleted !== 0) await this.change('deleteToken', id, deleted, undefined);
    return deleted !== 0;
  }

  async listTokens(): Promise<Iterable<Readonly<TokenRecord>>> {
    try {
      return await this.index.current();
    } catch (err) {
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError('listTokens', err);
    }
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const items = await this.run('history', () => this.client.lrange(this.historyKey(id), 0, -1));
    return items.map((item) => JSON.parse(item) as HistoryEntry);
  }

  async touchLastUsed(uses: ReadonlyMap<string, number>): Promise<void> {
    if (uses.size === 0) return;
    const ids = [...uses.keys()];
    const replies = await this.run('touchLastUsed', () => Promise.all(ids.map((id) => this.client.tgTouch(this.tokenKey(id), String(uses.get(id))))));
    const touched = ids.filter((_, i) => replies[i] === 1);
    await this.bump('touchLastUsed', touched);
  }

  async createRepository(record: RepositoryRecord): Promise<boolean> {
    const added = await this.run('createRepository', () =>
      this.client.hsetnx(`${this.prefix}repositories`, record.name, JSON.stringify(record)),
    );
    return added === 1;
  }

  async getRepository(name: string): Promise<RepositoryRecord | undefined> {
    const raw = await this.run('getRepository', () => this.client.hget(`${this.prefix}repositories`, name));
    return raw ? (JSON.parse(raw) as RepositoryRecord) : undefined;
  }

  async listRepositories(): Promise<RepositoryRecord[]> {
    const all = await this.run('listRepositories', () => this.client.hvals(`${this.prefix}repositories`));
    return all.map((raw) => JSON.parse(raw) as RepositoryRecord);
  }

  async deleteRepository(name: string): Promise<boolean> {
    return (await this.run('deleteRepository', () => this.client.hdel(`${this.prefix}repositories`, name))) === 1;
  }

  async putUser(record: UserRecord): Promise<void> {
    await this.run('putUser', () => this.client.hset(`${this.prefix}users`, record.name, JSON.stringify(record)));
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const raw = await this.run('getUser', () => this.client.hget(`${this.prefix}users`, name));
    return raw ? (JSON.parse(raw) as UserRecord) : undefined;
  }

  async listUsers(): Promise<UserRecord[]> {
    const all = await this.run('listUsers', () => this.client.hvals(`${this.prefix}users`));
    return all.map((raw) => JSON.parse(raw) as UserRecord);
  }

  async deleteUser(name: string): Promise<boolean> {
    return (await this.run('deleteUser', () => this.client.hdel(`${this.prefix}users`, name))) === 1;
  }

  async publish(message: Invalidation): Promise<void> {
    await this.run('publish', () => this.client.publish(this.channel, JSON.stringify(message)));
  }

  subscribe(listener: InvalidationListener): void {
    if (!this.subscriber) {
      // A subscribed connection can run no other command, so it is a connection of its own.
      this.subscriber = connectRedis(this.options, 'subscriber');
      void this.subscriber.subscribe(this.channel).catch(() => {});
    }
    let isFirstReady = true;
    this.subscriber.on('ready', () => {
      if (!isFirstReady) listener.onReset();
      isFirstReady = false;
    });
    this.subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.channel) return;
      try {
        listener.onMessage(JSON.parse(payload) as Invalidation);
      } catch {
        listener.onReset(); // a message we cannot read may have named anything
      }
    });
  }

  async ping(): Promise<void> {
    await this.run('ping', () => this.client.ping());
  }

  async close(): Promise<void> {
    this.client.disconnect();
    this.subscriber?.disconnect();
  }
}
