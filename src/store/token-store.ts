import type { HistoryEntry, RepositoryRecord, TokenRecord, UserRecord } from '../tokens/record.js';

/** What a replica must drop from its cache; `at` is the publish time (epoch ms) for lag metrics. */
export type Invalidation =
  | { at: number; type: 'tokens'; ids: string[] }
  | { at: number; type: 'user'; user: string }
  | { at: number; type: 'all' };

export interface InvalidationListener {
  /** A published invalidation arrived. */
  onMessage(message: Invalidation): void;
  /** Messages may have been missed (subscriber reconnected): everything cached is suspect. */
  onReset(): void;
}

/**
 * Where tokens, their history, users and repositories live. Every backend passes the same
 * contract suite (test/contract). Methods reject with StoreUnavailableError when the backend
 * cannot answer; they never hang past the backend's command timeout.
 */
export interface TokenStore {
  readonly backend: 'memory' | 'file' | 'redis';
  /** The hot-path lookup on a cache miss: one read. */
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** Adds a token and its first history entry; false when the id is taken. */
  createToken(record: TokenRecord, entry: HistoryEntry): Promise<boolean>;
  /** Replaces a token and appends to its history; false when the token does not exist. */
  updateToken(record: TokenRecord, entry: HistoryEntry): Promise<boolean>;
  /** Removes a token, keeping its history; false when it did not exist. */
  deleteToken(id: string, entry: HistoryEntry): Promise<boolean>;
  /**
   * Every token, as read-only records shared with the store (not copies: a list over 100,000
   * tokens must not copy them). Redis serves this from a local index synced incrementally.
   */
  listTokens(): Promise<Iterable<Readonly<TokenRecord>>>;
  /** Tokens by kind and status (`expired` derived at `now`) for tollgate_tokens, without listing them. */
  countTokens(now: number): Promise<TokenCount[]>;
  /** History oldest first; kept after the token is deleted. */
  history(id: string): Promise<HistoryEntry[]>;
  /** Records last use for tokens that still exist; ids that are gone are ignored. */
  touchLastUsed(uses: ReadonlyMap<string, number>): Promise<void>;

  createRepository(record: RepositoryRecord): Promise<boolean>;
  getRepository(name: string): Promise<RepositoryRecord | undefined>;
  listRepositories(): Promise<RepositoryRecord[]>;
  deleteRepository(name: string): Promise<boolean>;

  putUser(record: UserRecord): Promise<void>;
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  deleteUser(name: string): Promise<boolean>;

  /** Tells every replica (this one included) to drop what the message names. */
  publish(message: Invalidation): Promise<void>;
  subscribe(listener: InvalidationListener): void;

  /** Resolves when the backend answers; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface TokenCount {
  kind: 'repository' | 'personal';
  status: 'active' | 'revoked' | 'expired';
  count: number;
}

/** The backend did not answer (down, too slow, or refusing): callers fail closed with 503. */
export class StoreUnavailableError extends Error {
  readonly code = 'TG_STORE_UNAVAILABLE';
  readonly status = 503;
  constructor(readonly op: string, cause?: unknown) {
    super(`token store unavailable during ${op}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
