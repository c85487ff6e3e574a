import type { EventLog, OutEvent } from './event-log.js';
import type { HistoryEntry, LastUse, OrganizationRecord, RepositoryRecord, TeamRecord, TokenRecord, TokenSummary, UserRecord } from '../tokens/record.js';
import type { UsageCount, UsageStore } from './usage-log.js';

/** What a replica must drop from its cache; `at` is the publish time (epoch ms) for lag metrics. */
export type Invalidation =
  | { at: number; type: 'tokens'; ids: string[] }
  | { at: number; type: 'user'; user: string }
  /** Several users' grants changed at once (a team's grants or members). */
  | { at: number; type: 'users'; users: string[] }
  /** Repositories came into or left these organizations: whatever was resolved through `@org` is re-read. */
  | { at: number; type: 'organizations'; organizations: string[] }
  | { at: number; type: 'all' };

export interface InvalidationListener {
  /** A published invalidation arrived. */
  onMessage(message: Invalidation): void;
  /** Messages may have been missed (subscriber reconnected): everything cached is suspect. */
  onReset(): void;
}

/** Told of each change in whether the store answers, once per change, not per failed command. */
export interface StoreHealthListener {
  /** A command failed while the store was answering: an outage began. */
  onOutage(op: string, err: unknown): void;
  /** A command succeeded after an outage. */
  onRecovery(): void;
  /** A connection that had been up came back after it closed. */
  onReconnect(connection: 'commands' | 'subscriber'): void;
}

/**
 * Where tokens, their history, users and repositories live. Every backend passes the same
 * contract suite (test/contract). Every write takes the events it makes (docs/webhooks.md), kept in the
 * same atomic step as the change (where the write does not happen, neither do they). Methods reject with StoreUnavailableError when the backend
 * cannot answer; they never hang past the backend's command timeout.
 */
export interface TokenStore extends EventLog, OrganizationStore, UsageStore {
  readonly backend: 'memory' | 'file' | 'redis';
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

  createRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean>;
  /** Replaces an existing repository (its default limits); false when there is none. */
  putRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean>;
  getRepository(name: string): Promise<RepositoryRecord | undefined>;
  listRepositories(): Promise<RepositoryRecord[]>;
  deleteRepository(name: string, events?: readonly OutEvent[]): Promise<boolean>;

  putUser(record: UserRecord, events?: readonly OutEvent[]): Promise<void>;
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  deleteUser(name: string, events?: readonly OutEvent[]): Promise<boolean>;

  /** Writes a team and appends to its history. */
  putTeam(record: TeamRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<void>;
  getTeam(name: string): Promise<TeamRecord | undefined>;
  listTeams(): Promise<TeamRecord[]>;
  /** Removes a team, keeping its history; false when it did not exist. */
  deleteTeam(name: string, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean>;
  teamHistory(name: string): Promise<HistoryEntry[]>;
  /** The teams `user` is a member of (read on a cache miss of a personal token). */
  teamsOf(user: string): Promise<TeamRecord[]>;

  /** Tells every replica (this one included) to drop what the message names. */
  publish(message: Invalidation): Promise<void>;
  subscribe(listener: InvalidationListener): void;

  /**
   * Limits (budget leases): hands out up to `take.want` of what is left of a token's budget in
   * one window, in one atomic step, and counts it as taken. What a replica leased it spends
   * locally, so the data plane does no store I/O per request.
   */
  takeBudget(key: BudgetKey, take: BudgetTake): Promise<BudgetGrant>;
  /** Gives back `amount` of a lease that was not spent (never below zero). */
  returnBudget(key: BudgetKey, amount: number, now: number): Promise<void>;
  /** What each window has handed out so far (0 for none or expired), in the order asked. */
  readBudgets(keys: readonly BudgetKey[], now: number): Promise<number[]>;

  /**
   * Claims `name` in `scope` for `ttlMs` across every replica (true when this caller got it),
   * so two replicas creating the same name at once do not both find it free. Absent on backends
   * in one process (memory, file), where the service's own claims suffice.
   */
  claimName?(scope: string, name: string, ttlMs: number): Promise<boolean>;
  /** Lets go of a claim taken with claimName. */
  releaseName?(scope: string, name: string): Promise<void>;

  /** Resolves when the backend answers; used by /readyz. */
  ping(): Promise<void>;
  /** Reports outages and reconnects; absent on backends in this process (memory, file), which have none. */
  watchHealth?(listener: StoreHealthListener): void;
  close(): Promise<void>;
}

/**
 * Organizations (docs/organizations.md): tenants above repositories. `default` exists in every
 * store from the start (read back as defaultOrganization() until someone edits it), and a
 * repository without `organization` belongs to it, so a store written before organizations
 * reads as before. createRepository() refuses (false) a repository whose organization is gone.
 */
export interface OrganizationStore {
  /** Adds an organization; false when the name is taken (`default` always is). */
  createOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean>;
  /** Replaces an existing organization (its display name); false when there is none. */
  putOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean>;
  getOrganization(name: string): Promise<OrganizationRecord | undefined>;
  /** Every organization, `default` included. */
  listOrganizations(): Promise<OrganizationRecord[]>;
  /** Removes an organization only while no repository belongs to it, in one atomic step; `default` is never removed. */
  deleteOrganization(name: string, events?: readonly OutEvent[]): Promise<OrganizationDeleteOutcome>;
}

export type OrganizationDeleteOutcome = 'deleted' | 'missing' | 'not-empty';

/** One budget counter: a token's limit in one window (its start, epoch ms; 0 for streams, which have none). */
export interface BudgetKey {
  tokenId: string;
  limit: 'rate' | 'quota' | 'streams';
  window: number;
}

export interface BudgetTake {
  /** The limit: what may be handed out in the window in all. */
  cap: number;
  want: number;
  now: number;
  /** The counter is forgotten this long after its last change. */
  ttlMs: number;
  /**
   * Sliding window: the prior window's counter, weighted by how much of it still overlaps the
   * sliding window (in thousandths), also counts against the cap.
   */
  prior?: { window: number; permille: number };
}

export interface BudgetGrant {
  granted: number;
  /** What was left after this grant (cap less the counters). */
  left: number;
}

/** What a compare-and-set write did. */
export type WriteOutcome = 'written' | 'missing' | 'stale';

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

/** Some of a usage batch was not added (the rest was): what to add again, and nothing more, so nothing counts twice. */
export class UsageNotWritten extends StoreUnavailableError {
  constructor(readonly unwritten: readonly UsageCount[], cause?: unknown) {
    super('addUsage', cause);
  }
}
