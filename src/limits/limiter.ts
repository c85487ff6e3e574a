import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import type { BudgetKey, BudgetStore } from '../store/token-store.js';
import { budgetIdOf, type RepositoryRecord, type TokenRecord } from '../tokens/record.js';
import type { Lease, Slots } from './lease.js';
import { compileLimits, hasLimits, type LimitName, type Limits } from './limits.js';
import { rateLimitField } from './ratelimit-fields.js';
import { type LeaseSource, type LimitRefusal, TokenBudget } from './token-budget.js';

/** One maker up a lent token's line: what the limiter needs to spend from its budgets too. */
export type LineMaker = Pick<TokenRecord, 'id' | 'budgetId' | 'limits' | 'repository'>;

/** What the limiter reads of a resolved identity: the token, and a lent token's makers up its line. */
export interface LinedToken {
  readonly record: TokenRecord;
  readonly line?: readonly LineMaker[];
}

/** Told of each refusal, for `limited_total{limit}`. */
export interface LimitObserver {
  limited(limit: LimitName): void;
}

export interface LimiterOptions {
  store: BudgetStore;
  clock: Clock;
  logger: Logger;
  observer?: LimitObserver;
  /** After a failed lease, how long before the store is asked again (default 1 s). */
  retryMs?: number;
}

/** How long a stream-slot counter outlives its last change: slots of a replica that died unannounced come back after it. */
const SLOT_TTL_MS = 5 * 60_000;

const LIMIT_OF: Readonly<Record<Exclude<LimitRefusal, 'store_unavailable'>, LimitName>> = {
  rate_limited: 'rate',
  quota_exceeded: 'quota',
  too_many_streams: 'streams',
};

/** How often a request may find its lease taken by others while waiting before it is refused. */
const MAX_WAITS = 4;

/** What `usage` reports for one limit. */
export interface LimitUsage {
  limit: number;
  used: number;
  left: number;
  /** Window start and reset (epoch ms); absent for streams. */
  windowStart?: number;
  resetsAt?: number;
}

/**
 * Per-token limits on this replica (docs/limits.md). Each replica leases slices of a token's budget
 * from the store (one atomic step each) and spends them locally, so a cached token with limits
 * costs no I/O per request; together the replicas never take more than the limit from the store
 * in a window, and a replica spends at most what it leased. Unspent leases go back at drain.
 */
export class Limiter implements LeaseSource {
  private readonly budgets = new Map<string, TokenBudget>();
  private readonly retryMs: number;

  constructor(private readonly options: LimiterOptions) {
    this.retryMs = options.retryMs ?? 1000;
  }

  /**
   * The limits a token runs under: its own, else its repository's defaults (kept here, refreshed
   * in the background by `setRepositoryDefaults`, so finding them is no I/O).
   */
  limitsOf(record: Pick<TokenRecord, 'limits' | 'repository'>): Limits | undefined {
    if (record.limits != null && hasLimits(record.limits)) return record.limits;
    return this.repositoryDefaults.get(record.repository);
  }

  private repositoryDefaults = new Map<string, Limits>();

  /** Limits objects as JSON, each serialized once (budgetFor compares by it). */
  private readonly keys = new WeakMap<Limits, string>();

  private keyOf(limits: Limits): string {
    let key = this.keys.get(limits);
    if (key === undefined) {
      key = JSON.stringify(limits);
      this.keys.set(limits, key);
    }
    return key;
  }

  /** Replaces the repositories' default limits (from the store's repository records). */
  setRepositoryDefaults(repositories: Iterable<Pick<RepositoryRecord, 'name' | 'limits'>>): void {
    const defaults = new Map<string, Limits>();
    for (const repository of repositories) {
      const limits = repository.limits;
      if (!hasLimits(limits)) continue;
      // Keep the object already in use when nothing changed, so budgets are not rebuilt.
      const known = this.repositoryDefaults.get(repository.name);
      defaults.set(repository.name, known !== undefined && JSON.stringify(known) === JSON.stringify(limits) ? known : limits);
    }
    this.repositoryDefaults = defaults;
  }

  /**
   * The budget a request of this token spends from, linked up its lent line (TokenBudget.maker):
   * its own (under its budget id, which a roll carries over), then each maker's that has limits.
   * Undefined when nothing on the line is limited. No I/O: the line came with the identity.
   */
  budgetOfLine(identity: LinedToken): TokenBudget | undefined {
    const record = identity.record;
    const limits = this.limitsOf(record);
    const own = limits === undefined ? undefined : this.budgetFor(budgetIdOf(record), limits);
    const line = identity.line;
    if (line === undefined) return own;
    // Linked afresh each time (a maker's limits or the line may have changed since): each budget
    // is cut loose as it joins, so the chain holds only what this line names.
    if (own !== undefined) own.maker = undefined;
    let first = own;
    let last = own;
    for (let i = 0; i < line.length; i++) {
      const maker = line[i]!;
      const makerLimits = this.limitsOf(maker);
      if (makerLimits === undefined) continue;
      const budget = this.budgetFor(budgetIdOf(maker), makerLimits);
      // One budget twice on a line (a damaged store) would make its chain a loop.
      if (isOnChain(first, budget)) continue;
      budget.maker = undefined;
      if (last === undefined) first = budget;
      else last.maker = budget;
      last = budget;
    }
    return first;
  }

  /** The fields a refusal of a limited token carries: Retry-After, RateLimit-Policy and RateLimit. */
  refusalHeaders(tokenId: string, refusal: LimitRefusal, now: number): Record<string, string> {
    return this.refusalHeadersOf(this.budgets.get(tokenId), refusal, now);
  }

  /** As refusalHeaders, for the budget (and line) that refused: the limit that refused is the one shown. */
  refusalHeadersOf(admitted: TokenBudget | undefined, refusal: LimitRefusal, now: number): Record<string, string> {
    const budget = admitted?.refusing(refusal, now);
    const retryAfter = String(budget === undefined ? 1 : budget.retryAfter(refusal, now));
    if (budget === undefined) return { 'retry-after': retryAfter };
    return { 'retry-after': retryAfter, 'ratelimit-policy': budget.policy, ratelimit: rateLimitField(budget, now) };
  }

  /** The token's budget on this replica, built on first use and rebuilt when its limits change. */
  budgetFor(tokenId: string, limits: Limits): TokenBudget {
    let budget = this.budgets.get(tokenId);
    if (budget === undefined || budget.seenAs !== limits) {
      if (budget !== undefined && budget.sourceKey === this.keyOf(limits)) {
        // The same limits in a record read again from the store (or a maker's, as a lent token's
        // line holds them): serialized once per object, so alternating objects cost a lookup.
        budget.seenAs = limits;
        return budget;
      }
      // Limits changed: the old budget's leases go back; slots still in use stay counted until their exchanges end.
      if (budget !== undefined) void this.giveBack(budget, false);
      budget = new TokenBudget(tokenId, limits, this);
      this.budgets.set(tokenId, budget);
    }
    return budget;
  }

  /**
   * Admits one request of a limited token: its budget (spent; call `streamEnded` when the
   * exchange ends), or why not. Synchronous while leases last; a promise only when the store
   * must be asked first (the first request, or a lease spent faster than it was refilled).
   */
  admit(tokenId: string, limits: Limits, now: number): TokenBudget | LimitRefusal | Promise<TokenBudget | LimitRefusal> {
    return this.admitTo(this.budgetFor(tokenId, limits), now);
  }

  /** As `admit`, for a budget already found (budgetOfLine): its whole line must have room. */
  admitTo(budget: TokenBudget, now: number): TokenBudget | LimitRefusal | Promise<TokenBudget | LimitRefusal> {
    const verdict = budget.check(now);
    if (verdict === undefined) {
      budget.admit(now);
      return budget;
    }
    if (verdict !== 'wait') return this.refused(verdict);
    return this.admitAfterLease(budget, 0);
  }

  private async admitAfterLease(budget: TokenBudget, waits: number): Promise<TokenBudget | LimitRefusal> {
    await budget.leaseNeeded(this.options.clock.now());
    const now = this.options.clock.now();
    const verdict = budget.check(now);
    if (verdict === undefined) {
      budget.admit(now);
      return budget;
    }
    if (verdict === 'wait' && waits < MAX_WAITS) return this.admitAfterLease(budget, waits + 1);
    // Other requests kept taking what each lease brought: the limit is what is spent here.
    if (verdict === 'wait') return this.refused(budget.slots !== undefined && budget.slots.inUse >= budget.slots.held ? 'too_many_streams' : 'rate_limited');
    return this.refused(verdict);
  }

  private refused(refusal: LimitRefusal): LimitRefusal {
    if (refusal !== 'store_unavailable') this.options.observer?.limited(LIMIT_OF[refusal]);
    return refusal;
  }

  /** LeaseSource: one lease request for `lease`'s window (concurrent needs share it). */
  refill(budget: TokenBudget, lease: Lease, now: number): Promise<void> {
    if (lease.pending !== undefined) return lease.pending;
    lease.roll(now);
    const window = lease.window;
    // Bytes relayed on credit are paid out of this lease.
    const want = lease.slice + Math.max(0, -lease.balance);
    const key: BudgetKey = { tokenId: budget.tokenId, limit: lease.limit, window };
    const sinceStart = now - window;
    const take = {
      cap: lease.cap,
      want,
      now,
      // A counter is read for two windows when sliding (as the current, then as the prior one).
      ttlMs: lease.perMs * (lease.isSliding ? 2 : 1) + 60_000,
      ...(lease.isSliding ? { prior: { window: window - lease.perMs, permille: Math.floor(((lease.perMs - sinceStart) * 1000) / lease.perMs) } } : {}),
    };
    const pending = this.options.store.takeBudget(key, take).then(
      (grant) => {
        lease.pending = undefined;
        // The window moved on while asking: that grant is counted in its own window, spent or not.
        if (lease.window !== window) return;
        lease.balance += grant.granted;
        lease.left = grant.left;
        if (grant.granted < want) lease.exhaustedUntil = this.exhaustedUntil(lease, this.options.clock.now());
      },
      (err: unknown) => {
        lease.pending = undefined;
        lease.failedUntil = this.options.clock.now() + this.retryMs;
        this.options.logger.warn({ err, tokenId: budget.tokenId, limit: lease.limit }, 'limits: lease failed; spending what is leased');
      },
    );
    lease.pending = pending;
    return pending;
  }

  /**
   * LeaseSource: the next window's lease, near the end of this one. The store counts this
   * window in full against it (as it will at the next window's start), so the bound holds.
   */
  prefetch(budget: TokenBudget, lease: Lease, now: number): void {
    const window = lease.window + lease.perMs;
    lease.isPrefetching = true;
    const take = { cap: lease.cap, want: lease.slice, now, ttlMs: lease.perMs * 2 + 60_000, prior: { window: lease.window, permille: 1000 } };
    this.options.store.takeBudget({ tokenId: budget.tokenId, limit: lease.limit, window }, take).then(
      (grant) => {
        lease.isPrefetching = false;
        if (lease.window === window) {
          // The window began while asking: the grant is this window's now.
          lease.balance += grant.granted;
          lease.left = grant.left;
        } else if (lease.window + lease.perMs === window) {
          lease.nextWindow = window;
          lease.nextBalance = grant.granted;
          lease.nextLeft = grant.left;
        }
      },
      (err: unknown) => {
        lease.isPrefetching = false;
        lease.failedUntil = this.options.clock.now() + this.retryMs;
        this.options.logger.warn({ err, tokenId: budget.tokenId, limit: lease.limit }, 'limits: lease of the next window failed');
      },
    );
  }

  /**
   * When to ask again after the store had nothing left: a fixed window (quota) at its end; a
   * sliding one (rate) as soon as one request's worth of the prior window has slid out, no
   * sooner than a twentieth of the window (so a refused flood asks at most 20 times a window).
   */
  private exhaustedUntil(lease: Lease, now: number): number {
    const end = lease.window + lease.perMs;
    if (!lease.isSliding) return end;
    return Math.min(end, now + Math.max(Math.ceil(lease.perMs / lease.cap), Math.ceil(lease.perMs / 20)));
  }

  /** LeaseSource: one more stream slot from the store. */
  takeSlot(budget: TokenBudget, slots: Slots, now: number): Promise<void> {
    if (slots.pending !== undefined) return slots.pending;
    const pending = this.options.store.takeBudget(this.slotKey(budget), { cap: slots.cap, want: 1, now, ttlMs: SLOT_TTL_MS }).then(
      (grant) => {
        slots.pending = undefined;
        slots.held += grant.granted;
        // Another replica may free one soon; ask again shortly rather than at once per request.
        if (grant.granted === 0) slots.exhaustedUntil = this.options.clock.now() + 250;
      },
      (err: unknown) => {
        slots.pending = undefined;
        slots.failedUntil = this.options.clock.now() + this.retryMs;
        this.options.logger.warn({ err, tokenId: budget.tokenId, limit: 'streams' }, 'limits: stream slot lease failed');
      },
    );
    slots.pending = pending;
    return pending;
  }

  private slotKey(budget: TokenBudget): BudgetKey {
    return { tokenId: budget.tokenId, limit: 'streams', window: 0 };
  }

  /**
   * Background upkeep, run on an interval: stream slots idle since the last tick go back to the
   * store, held ones keep their counter alive, and budgets unused for two windows are forgotten
   * (what they held given back).
   */
  async tick(): Promise<void> {
    const now = this.options.clock.now();
    const work: Promise<unknown>[] = [];
    for (const [tokenId, budget] of this.budgets) {
      const slots = budget.slots;
      if (slots !== undefined && slots.held > 0 && slots.pending === undefined) {
        const idle = slots.held - slots.inUse;
        if (idle > 0 && slots.wasIdle) {
          slots.held -= idle;
          work.push(this.quietly(this.options.store.returnBudget(this.slotKey(budget), idle, now)));
        } else if (slots.held > 0) {
          work.push(this.quietly(this.options.store.takeBudget(this.slotKey(budget), { cap: slots.cap, want: 0, now, ttlMs: SLOT_TTL_MS })));
        }
        slots.wasIdle = slots.held > slots.inUse;
      }
      const longest = Math.max(budget.rate?.perMs ?? 0, budget.quota?.perMs ?? 0, 60_000);
      if (now - budget.lastUsedAt > 2 * longest && (slots === undefined || slots.inUse === 0)) {
        this.budgets.delete(tokenId);
        work.push(this.giveBack(budget));
      }
    }
    await Promise.all(work);
  }

  /** Shutdown: every unspent lease and every held slot goes back to the store. */
  async drain(): Promise<void> {
    const budgets = [...this.budgets.values()];
    this.budgets.clear();
    await Promise.all(budgets.map((budget) => this.giveBack(budget)));
  }

  private giveBack(budget: TokenBudget, slotsInUse = true): Promise<unknown> {
    const now = this.options.clock.now();
    const work: Promise<unknown>[] = [];
    for (const lease of [budget.rate, budget.quota]) {
      if (lease === undefined) continue;
      if (lease.nextWindow !== -1 && lease.nextBalance > 0) {
        work.push(
          this.quietly(this.options.store.returnBudget({ tokenId: budget.tokenId, limit: lease.limit, window: lease.nextWindow }, lease.nextBalance, now)),
        );
        lease.nextBalance = 0;
      }
      if (lease.balance <= 0 || lease.windowAt(now) !== lease.window) continue;
      const amount = Math.floor(lease.balance);
      lease.balance = 0;
      work.push(this.quietly(this.options.store.returnBudget({ tokenId: budget.tokenId, limit: lease.limit, window: lease.window }, amount, now)));
    }
    const slots = budget.slots;
    if (slots !== undefined && slots.held > 0) {
      const amount = slotsInUse ? slots.held : slots.held - slots.inUse;
      slots.held -= amount;
      work.push(this.quietly(this.options.store.returnBudget(this.slotKey(budget), amount, now)));
    }
    return Promise.all(work);
  }

  private quietly(work: Promise<unknown>): Promise<unknown> {
    return work.catch((err: unknown) => this.options.logger.warn({ err }, 'limits: giving back a lease failed'));
  }

  /**
   * What a token's limits have spent and have left in the current windows, read from the store:
   * `used` counts what replicas leased (some of it may not be spent yet), so it is an upper bound.
   */
  async usage(tokenId: string, limits: Limits, now: number): Promise<Partial<Record<LimitName, LimitUsage>>> {
    const compiled = compileLimits(limits);
    const keys: BudgetKey[] = [];
    const windows: Array<{ name: LimitName; cap: number; start?: number; perMs?: number }> = [];
    for (const name of ['rate', 'quota'] as const) {
      const limit = compiled[name];
      if (limit === undefined) continue;
      const start = now - (now % limit.perMs);
      keys.push({ tokenId, limit: name, window: start });
      windows.push({ name, cap: limit.cap, start, perMs: limit.perMs });
    }
    if (compiled.streams !== undefined) {
      keys.push({ tokenId, limit: 'streams', window: 0 });
      windows.push({ name: 'streams', cap: compiled.streams });
    }
    const counts = await this.options.store.readBudgets(keys, now);
    const out: Partial<Record<LimitName, LimitUsage>> = {};
    windows.forEach((window, i) => {
      const used = Math.min(window.cap, counts[i] ?? 0);
      out[window.name] = {
        limit: window.cap,
        used,
        left: window.cap - used,
        ...(window.start !== undefined ? { windowStart: window.start, resetsAt: window.start + window.perMs! } : {}),
      };
    });
    return out;
  }
}

/** Whether `budget` is `first` or linked from it. */
function isOnChain(first: TokenBudget | undefined, budget: TokenBudget): boolean {
  for (let at = first; at !== undefined; at = at.maker) if (at === budget) return true;
  return false;
}
