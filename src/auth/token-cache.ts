import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { Invalidation, InvalidationListener, TokenStore } from '../store/token-store.js';
import { hashesEqual, idFromHash } from '../tokens/secret.js';
import type { Identity, LineMaker } from './authorize.js';
import { combineGrants, isLent, type Grants, type TokenRecord } from '../tokens/record.js';

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

export interface TokenCacheOptions {
  store: TokenStore;
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
  private readonly entries: LRUCache<string, Entry>;
  private readonly negative: LRUCache<string, true>;
  private readonly inflight = new Map<string, { epoch: number; pending: Promise<Resolution> }>();
  /** Bumped by every eviction, so a lookup that raced an invalidation is not cached. */
  private epoch = 0;

  constructor(private readonly options: TokenCacheOptions) {
    this.entries = new LRUCache({ max: options.max });
    // ttlResolution 0: read the injected clock on every check rather than a copy cached for 1 ms.
    this.negative = new LRUCache({ max: options.negativeMax, ttl: options.negativeTtlMs, ttlResolution: 0, perf: options.clock });
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
    try {
      const record = await store.getToken(id);
      if (record !== undefined && hashesEqual(record.hash, hash)) {
        const grants = record.kind === 'personal' && record.user !== null ? await grantsOf(store, record.user) : null;
        identity = isLent(record) ? { record, grants, line: await lineOf(store, record) } : { record, grants };
      }
    } catch {
      observer.storeError('getToken');
      return this.staleOrUnavailable(id, hash);
    }
    lookups.lookup('store', (performance.now() - started) / 1000);
    if (identity === undefined) {
      this.negative.set(hash, true);
      return UNKNOWN;
    }
    if (epoch === this.epoch) this.entries.set(id, { identity, fetchedAt: this.options.clock.now() });
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

  /** Drops the given tokens at once (revoke, delete, edit). */
  evict(ids: readonly string[]): void {
    this.epoch++;
    for (const id of ids) this.entries.delete(id);
  }

  /** Drops every personal token of these users (their grants, or their teams' grants, changed). */
  evictUsers(users: readonly string[]): void {
    this.epoch++;
    const names = new Set(users);
    const doomed: string[] = [];
    for (const [id, entry] of this.entries.entries()) {
      const user = entry.identity.record.user;
      if (user !== null && names.has(user)) doomed.push(id);
    }
    for (const id of doomed) this.entries.delete(id);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
    this.negative.clear();
  }

  /** Drops what a message names, without counting it as received (the writer's own eviction). */
  apply(message: Invalidation): void {
    if (message.type === 'tokens') this.evict(message.ids);
    else if (message.type === 'user') this.evictUsers([message.user]);
    else if (message.type === 'users') this.evictUsers(message.users);
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

/** A user's grants: their own ∪ their teams' (docs/tokens.md), read together on a miss. */
async function grantsOf(store: TokenStore, user: string): Promise<Grants> {
  const [record, teams] = await Promise.all([store.getUser(user), store.teamsOf(user)]);
  // A deleted user holds nothing, whatever teams still name them.
  return record === undefined ? {} : combineGrants(record.grants, teams);
}

/** The longest lent line read on a miss (a cycle in a damaged store ends there too). */
const MAX_LINE = 64;

/**
 * A lent token's makers, nearest first, up to and including the first that is not lent: one
 * read each, on a cache miss only (a line is as deep as tokens were lent from lent tokens).
 */
async function lineOf(store: TokenStore, record: TokenRecord): Promise<LineMaker[]> {
  const line: LineMaker[] = [];
  let at: TokenRecord | undefined = record;
  while (at !== undefined && isLent(at) && at.parentId !== null && line.length < MAX_LINE) {
    const maker: TokenRecord | undefined = await store.getToken(at.parentId);
    if (maker === undefined || line.some((known) => known.id === maker.id)) break;
    line.push({ id: maker.id, budgetId: maker.budgetId, limits: maker.limits, repository: maker.repository });
    at = maker;
  }
  return line;
}
