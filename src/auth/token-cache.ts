import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { Directory, Invalidation, InvalidationListener, TokenRecords } from '../store/token-store.js';

/** What the cache reads on a miss: the token, its user's and teams' grants, and the repositories an `@org` grant covers. */
export type CacheStore = Pick<TokenRecords, 'getToken'> & Pick<Directory, 'getUser' | 'getTeam' | 'teamsOf' | 'listRepositories'>;

import type { LineMaker } from '../limits/limiter.js';
import { ALL_REPOSITORIES, combineGrants, type Grants, isLent, RIGHTS, type TeamRecord, type TokenRecord } from '../tokens/record.js';
import { hashesEqual, idFromHash } from '../tokens/secret.js';
import type { Identity, WorkloadFacts } from './authorize.js';
import { OrganizationMap, reachesInto } from './organization-reach.js';

/** What one lookup reports: where the answer came from and how long it took. */
export interface LookupObserver {
  lookup(source: 'cache' | 'store' | 'negative', seconds: number): void;
  hit(): void;
  miss(): void;
}

/** What the cache reports to metrics; a no-op implementation serves tests. */
export interface CacheObserver extends LookupObserver {
  storeError(op: string): void;
  invalidated(lagSeconds: number): void;
  reset(): void;
}

/**
 * For lookups that are not data-plane traffic (the admin API's callers): the cache-hit and
 * auth-latency series describe the proxy, and an admin listing tokens must not move them.
 */
export const UNOBSERVED: LookupObserver = { lookup() {}, hit() {}, miss() {} };

export const UNKNOWN = Symbol('unknown token');
export const UNAVAILABLE = Symbol('store unavailable');
export type Resolution = Identity | typeof UNKNOWN | typeof UNAVAILABLE;

/**
 * A workload identity already verified (a JWT's signature and claims, a client certificate's
 * chain), known by the hash of the credential: the cache turns it into an Identity by reading
 * its user's grants, as it does for a personal token (docs/workload-identity.md).
 */
export interface Principal extends WorkloadFacts {
  /** The Tollgate user it maps to. */
  readonly user: string;
  /** Epoch ms after which it stands for nobody (the JWT's exp, the certificate's notAfter). */
  readonly expiresAt: number;
}

/** Where the cache finds the principal behind a credential hash that is no Tollgate token. */
export interface PrincipalSource {
  principalOf(hash: string): Principal | undefined;
}

export interface TokenCacheOptions {
  store: CacheStore;
  /** Verified workload identities (absent: none are configured). */
  principals?: PrincipalSource;
  clock: Clock;
  observer: CacheObserver;
  max: number;
  ttlMs: number;
  negativeMax: number;
  negativeTtlMs: number;
  staleIfErrorMs: number;
}

interface Entry {
  identity: Identity;
  fetchedAt: number;
}

/**
 * The hot-path token lookup (docs/stores.md): an LRU of resolved tokens keyed by token id (the first
 * 16 hex digits of the secret's hash; the full hash is compared on every hit), a separately
 * bounded negative cache keyed by the full hash, one store lookup for concurrent misses of one
 * token, and stale entries served for `staleIfError` while the store is down.
 */
export class TokenCache implements InvalidationListener {
  private entries: LRUCache<string, Entry>;
  private negative: LRUCache<string, true>;
  private readonly inflight = new Map<string, { epoch: number; pending: Promise<Resolution> }>();
  /** Bumped by every eviction, so a lookup that raced an invalidation is not cached. */
  private epoch = 0;
  /**
   * maker id -> the cached lent tokens whose line holds it: evicting a maker evicts its loans,
   * which are then read again with it (`lineEndsAt`). Kept by the entries' own set and dispose.
   */
  private readonly loans = new Map<string, Set<string>>();
  private readonly forgetLoan = (entry: Entry, id: string): void => {
    for (const maker of entry.identity.line ?? []) {
      const loans = this.loans.get(maker.id);
      if (loans?.delete(id) === true && loans.size === 0) this.loans.delete(maker.id);
    }
  };

  /** Where repositories belong, for tokens that name an `@org`: listed once, dropped with the organizations' invalidations. */
  private readonly organizationMap: OrganizationMap;

  constructor(private readonly options: TokenCacheOptions) {
    this.organizationMap = new OrganizationMap(options.store);
    this.entries = new LRUCache({ max: options.max, dispose: this.forgetLoan });
    // ttlResolution 0: read the injected clock on every check rather than a copy cached for 1 ms.
    this.negative = new LRUCache({ max: options.negativeMax, ttl: options.negativeTtlMs, ttlResolution: 0, perf: options.clock });
  }

  /**
   * Takes reloaded sizes and TTLs. The TTLs are read on the next lookup; a new size builds a new
   * LRU holding the most recent entries that fit (least recent first, so the order is kept); the
   * negative cache, a few seconds of "no such token", starts empty when its size or TTL moves.
   */
  resize(settings: Pick<TokenCacheOptions, 'max' | 'ttlMs' | 'negativeMax' | 'negativeTtlMs' | 'staleIfErrorMs'>): void {
    const previous = { ...this.options };
    Object.assign(this.options, settings);
    if (settings.max !== previous.max) {
      // What the old LRU drops as the new one fills is dropped from the loans index with it.
      const entries = new LRUCache<string, Entry>({ max: settings.max, dispose: this.forgetLoan });
      for (const id of this.entries.rkeys()) {
        const entry = this.entries.peek(id);
        if (entry !== undefined) entries.set(id, entry);
      }
      this.entries = entries;
    }
    if (settings.negativeMax !== previous.negativeMax || settings.negativeTtlMs !== previous.negativeTtlMs) {
      this.negative = new LRUCache({ max: settings.negativeMax, ttl: settings.negativeTtlMs, ttlResolution: 0, perf: this.options.clock });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * A fresh cached answer without I/O, or undefined when the store must be asked. `lookups`
   * (default: the cache's observer) is told of the hit and its time.
   */
  cached(hash: string, now: number, lookups: LookupObserver = this.options.observer): Resolution | undefined {
    const started = performance.now();
    const entry = this.entries.get(idFromHash(hash));
    if (entry !== undefined && now - entry.fetchedAt < this.options.ttlMs && hashesEqual(entry.identity.record.hash, hash)) {
      lookups.hit();
      lookups.lookup('cache', (performance.now() - started) / 1000);
      return entry.identity;
    }
    if (this.negative.has(hash)) {
      lookups.lookup('negative', (performance.now() - started) / 1000);
      return UNKNOWN;
    }
    return undefined;
  }

  /**
   * Resolves a token hash, from the cache when fresh, else from the store (coalesced). Store
   * errors always reach the cache's observer; hits, misses and lookup times reach `lookups`.
   */
  resolve(hash: string, lookups: LookupObserver = this.options.observer): Promise<Resolution> {
    const now = this.options.clock.now();
    const hit = this.cached(hash, now, lookups);
    if (hit !== undefined) return Promise.resolve(hit);
    lookups.miss();
    // A read begun before the last invalidation may return what it revoked: join only one begun since.
    const inflight = this.inflight.get(hash);
    if (inflight !== undefined && inflight.epoch === this.epoch) return inflight.pending;
    const entry = { epoch: this.epoch, pending: undefined as unknown as Promise<Resolution> };
    entry.pending = this.load(hash, lookups).finally(() => {
      if (this.inflight.get(hash) === entry) this.inflight.delete(hash);
    });
    this.inflight.set(hash, entry);
    return entry.pending;
  }

  private async load(hash: string, lookups: LookupObserver): Promise<Resolution> {
    const started = performance.now();
    const epoch = this.epoch;
    const id = idFromHash(hash);
    const { store, observer } = this.options;
    let identity: Identity | undefined;
    const principal = this.options.principals?.principalOf(hash);
    try {
      if (principal !== undefined) {
        identity = await workloadIdentity(store, principal, hash, id);
        // Verified, but mapped to no user: not a token to remember as unknown (the user may be made next).
        if (identity === undefined) return UNKNOWN;
      } else {
        const record = await store.getToken(id);
        if (record !== undefined && hashesEqual(record.hash, hash)) {
          const standing = record.kind === 'personal' && record.user !== null ? await standingOf(store, record.user) : undefined;
          const grants = standing?.grants ?? null;
          const base: Identity = standing?.isDisabled === true ? { record, grants, isUserDisabled: true } : { record, grants };
          identity = isLent(record) ? { ...base, ...(await lineOf(store, record)) } : base;
        }
      }
      if (identity !== undefined) identity = await this.organizationMap.withOrganizations(identity);
    } catch {
      observer.storeError('getToken');
      return this.staleOrUnavailable(id, hash);
    }
    lookups.lookup('store', (performance.now() - started) / 1000);
    if (identity === undefined) {
      this.negative.set(hash, true);
      return UNKNOWN;
    }
    if (epoch === this.epoch) {
      this.entries.set(id, { identity, fetchedAt: this.options.clock.now() });
      for (const maker of identity.line ?? []) {
        const loans = this.loans.get(maker.id);
        if (loans === undefined) this.loans.set(maker.id, new Set([id]));
        else loans.add(id);
      }
    }
    return identity;
  }

  private staleOrUnavailable(id: string, hash: string): Resolution {
    const entry = this.entries.peek(id);
    const age = entry === undefined ? Infinity : this.options.clock.now() - entry.fetchedAt;
    if (entry !== undefined && age < this.options.ttlMs + this.options.staleIfErrorMs && hashesEqual(entry.identity.record.hash, hash)) {
      return entry.identity; // expiry is still checked by authorize() against this record
    }
    return UNAVAILABLE;
  }

  /**
   * Whether `identity` is what the cache holds for its token now. False once an invalidation
   * dropped it (or a newer read replaced it): whoever decided on it should decide again.
   */
  holds(identity: Identity): boolean {
    return this.entries.peek(identity.record.id)?.identity === identity;
  }

  /** Drops the given tokens at once (revoke, delete, edit), and the tokens they lent, down the line. */
  evict(ids: readonly string[]): void {
    this.epoch++;
    for (const id of ids) {
      this.entries.delete(id);
      const loans = this.loans.get(id);
      if (loans !== undefined) for (const loan of [...loans]) this.entries.delete(loan);
    }
  }

  /**
   * Drops every personal token and workload identity of these users (their grants, or their
   * teams' grants, changed). `isTeamChange`: a team's grants or members changed, which may also
   * reach workload identities whose credential names that team in a claim; those are dropped too.
   */
  evictUsers(users: readonly string[], isTeamChange = false): void {
    this.epoch++;
    const names = new Set(users);
    const doomed: string[] = [];
    for (const [id, entry] of this.entries.entries()) {
      const user = entry.identity.record.user;
      if ((user !== null && names.has(user)) || (isTeamChange && (entry.identity.workload?.teams.length ?? 0) > 0)) doomed.push(id);
    }
    for (const id of doomed) this.entries.delete(id);
  }

  /** Drops every identity resolved through these organizations (`@org`): a repository came into or left one. */
  evictOrganizations(organizations: readonly string[]): void {
    this.epoch++;
    this.organizationMap.drop();
    const doomed = [...this.entries.entries()].filter(([, entry]) => reachesInto(entry.identity, organizations)).map(([id]) => id);
    for (const id of doomed) this.entries.delete(id);
  }

  clear(): void {
    this.epoch++;
    this.organizationMap.drop();
    this.entries.clear();
    this.negative.clear();
  }

  /** Drops what a message names, without counting it as received (the writer's own eviction). */
  apply(message: Invalidation): void {
    if (message.type === 'tokens') this.evict(message.ids);
    else if (message.type === 'user') this.evictUsers([message.user]);
    else if (message.type === 'users') this.evictUsers(message.users, true);
    else if (message.type === 'organizations') this.evictOrganizations(message.organizations);
    else this.clear();
  }

  onMessage(message: Invalidation): void {
    this.apply(message);
    this.options.observer.invalidated(Math.max(0, (this.options.clock.now() - message.at) / 1000));
  }

  onReset(): void {
    this.clear();
    this.options.observer.reset();
  }
}

interface Standing {
  grants: Grants;
  isDisabled: boolean;
  exists: boolean;
}

/** A user's grants, their own ∪ their teams' (docs/tokens.md), and whether they may act at all, read together on a miss. */
async function standingOf(store: CacheStore, user: string, extraTeams: readonly string[] = []): Promise<Standing> {
  const [record, teams, extra] = await Promise.all([store.getUser(user), store.teamsOf(user), extraTeamsOf(store, extraTeams)]);
  // A deleted user holds nothing, whatever teams still name them.
  if (record === undefined) return { grants: {}, isDisabled: false, exists: false };
  const named = new Set(teams.map((team) => team.name));
  return {
    grants: combineGrants(record.grants, [...teams, ...extra.filter((team) => !named.has(team.name))]),
    isDisabled: record.disabled === true,
    exists: true,
  };
}

/** Teams a credential's claim names, those that exist (an unknown name grants nothing). */
async function extraTeamsOf(store: CacheStore, names: readonly string[]): Promise<TeamRecord[]> {
  if (names.length === 0) return [];
  const found = await Promise.all(names.map((name) => store.getTeam(name)));
  return found.filter((team): team is TeamRecord => team !== undefined);
}

/**
 * A workload identity as the rest of the data plane sees it: a personal token on `*` holding
 * every right, so what it may do is exactly its user's grants (authorize() intersects), ended
 * and re-judged by the same invalidations. Its id is the credential hash's, never a stored token's.
 */
async function workloadIdentity(store: CacheStore, principal: Principal, hash: string, id: string): Promise<Identity | undefined> {
  const standing = await standingOf(store, principal.user, principal.teams);
  if (!standing.exists) return undefined;
  const record: TokenRecord = {
    id,
    hash,
    kind: 'personal',
    name: principal.credential,
    repository: ALL_REPOSITORIES,
    user: principal.user,
    rights: [...RIGHTS],
    status: 'active',
    prefix: principal.credential,
    createdAt: 0,
    createdBy: principal.issuer,
    updatedAt: 0,
    expiresAt: principal.expiresAt,
    revokedAt: null,
    lastUsedAt: null,
    lastUsedIp: null,
    lastUsedUserAgent: null,
    version: 0,
    parentId: null,
    // One budget per identity and user, whatever credential instance carries it (docs/workload-identity.md).
    budgetId: `${principal.credential}:${principal.user}`,
    limits: null,
  };
  const workload: WorkloadFacts = { credential: principal.credential, issuer: principal.issuer, teams: principal.teams };
  return standing.isDisabled ? { record, grants: standing.grants, workload, isUserDisabled: true } : { record, grants: standing.grants, workload };
}

/** The longest lent line read on a miss (a cycle in a damaged store ends there too). */
const MAX_LINE = 64;

/**
 * A lent token's makers, nearest first, up to and including the first that is not lent: one
 * read each, on a cache miss only (a line is as deep as tokens were lent from lent tokens). With
 * them, when the line ends (`Identity.lineEndsAt`): at once when a maker is revoked or gone.
 */
async function lineOf(store: CacheStore, record: TokenRecord): Promise<Pick<Identity, 'line' | 'lineEndsAt'>> {
  const line: LineMaker[] = [];
  let endsAt: number | undefined;
  let at: TokenRecord | undefined = record;
  while (at !== undefined && isLent(at) && at.parentId !== null && line.length < MAX_LINE) {
    const maker: TokenRecord | undefined = await store.getToken(at.parentId);
    if (maker === undefined || maker.status !== 'active') {
      endsAt = 0;
      break;
    }
    if (line.some((known) => known.id === maker.id)) break;
    if (maker.expiresAt !== null) endsAt = Math.min(endsAt ?? maker.expiresAt, maker.expiresAt);
    line.push({ id: maker.id, budgetId: maker.budgetId, limits: maker.limits, repository: maker.repository });
    at = maker;
  }
  return endsAt === undefined ? { line } : { line, lineEndsAt: endsAt };
}
