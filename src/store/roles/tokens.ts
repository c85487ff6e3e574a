import type { HistoryEntry, LastUse, TokenRecord, TokenSummary } from '../../tokens/record.js';
import type { OutEvent } from '../event-log.js';

/**
 * Tokens and their history: the records the hot path reads on a cache miss and the admin API
 * writes. Every write takes the events it makes (docs/webhooks.md), kept in the same atomic step as
 * the change (where the write does not happen, neither do they).
 */
export interface TokenRecords {
  /** The hot-path lookup on a cache miss: one read. */
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** Adds a token and its first history entry; false when the id is taken. */
  createToken(record: TokenRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean>;
  /**
   * Compare-and-set: replaces the token with `record` (stored at `expectedVersion + 1`) and
   * appends to its history, in one atomic step, only while the stored token is still at
   * `expectedVersion`. `stale` means another change came first: read again and decide again.
   * The stored lastUsedAt is kept when it is newer (it is written apart, in batches).
   */
  updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome>;
  /** Removes a token at `expectedVersion`, keeping its history (compare-and-set as above). */
  deleteToken(id: string, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome>;
  /**
   * Every token as a read-only summary shared with the store (not copies: a list over 100,000
   * tokens must not copy them): only what search, sort, filters and visibility read. Memory
   * and file hand out their records (which satisfy the type); Redis serves a slim local index
   * synced incrementally. Read the full records of what is shown with getTokens().
   */
  listTokens(): Promise<Iterable<Readonly<TokenSummary>>>;
  /**
   * Full records by id, in the order asked, undefined where a token is gone: one round trip
   * (a list page's records after listTokens() chose them).
   */
  getTokens(ids: readonly string[]): Promise<Array<TokenRecord | undefined>>;
  /** Tokens by kind and status (`expired` derived at `now`) for tollgate_tokens, without listing them. */
  countTokens(now: number): Promise<TokenCount[]>;
  /** History oldest first; kept after the token is deleted. */
  history(id: string): Promise<HistoryEntry[]>;
  /** Records last use (time, address, User-Agent) for tokens that still exist, where newer; ids that are gone are ignored. */
  touchLastUsed(uses: ReadonlyMap<string, LastUse>): Promise<void>;
  /** Active tokens by kind whose expiry falls in (now, until]: tollgate_tokens_expiring_soon. */
  countExpiring(now: number, until: number): Promise<Record<'repository' | 'personal', number>>;

  /** Ids of stored-active tokens whose expiry falls in (from, until]. */
  tokensExpiringBetween(from: number, until: number): Promise<string[]>;
}

/** What a compare-and-set write did. */
export type WriteOutcome = 'written' | 'missing' | 'stale';

export interface TokenCount {
  kind: 'repository' | 'personal';
  status: 'active' | 'revoked' | 'expired';
  count: number;
}
