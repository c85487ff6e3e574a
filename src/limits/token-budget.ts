import { Lease, Slots, sliceOf } from './lease.js';
import { compileLimits, type Limits } from './limits.js';
import { policyField } from './ratelimit-fields.js';

/** Why a limited token's request is refused (each maps to a 429 problem, or 503 for the store). */
export type LimitRefusal = 'rate_limited' | 'quota_exceeded' | 'too_many_streams' | 'store_unavailable';

/** What a budget asks of the limiter that owns it: leases from the store, in the background. */
export interface LeaseSource {
  refill(budget: TokenBudget, lease: Lease, now: number): Promise<void>;
  /** A lease of the window after `lease`'s, taken in the background. */
  prefetch(budget: TokenBudget, lease: Lease, now: number): void;
  takeSlot(budget: TokenBudget, slots: Slots, now: number): Promise<void>;
}

/**
 * One token's limits on this replica: its leased rate and quota, its stream slots, and the
 * RateLimit-Policy field, built once. The decision step admits a request through `check` and
 * `admit`; the exchange spends bytes through `spendBytes` and gives its stream back through
 * `streamEnded`. None of these does I/O; a lease that runs low is refilled in the background.
 */
export class TokenBudget {
  readonly rate: Lease | undefined;
  readonly quota: Lease | undefined;
  readonly slots: Slots | undefined;
  /** The RateLimit-Policy field value (draft-ietf-httpapi-ratelimit-headers-09 §3). */
  readonly policy: string;
  lastUsedAt = 0;
  /** The limits object last found equal to `source` (a token record read again holds a new one). */
  seenAs: Limits;
  /** `source` as JSON, so a new limits object is compared once (Limiter.budgetFor). */
  readonly sourceKey: string;
  /**
   * For a lent token: the budget of its nearest maker with limits. Every request admitted here is
   * admitted there too, and every byte spent here is spent there, up the line (set by
   * Limiter.budgetOfLine before each admission, so a line that changed is followed at once).
   */
  maker: TokenBudget | undefined = undefined;

  constructor(
    readonly tokenId: string,
    /** The limits object this was built from: a new object (an edit) builds a new budget. */
    readonly source: Limits,
    private readonly leases: LeaseSource,
  ) {
    const compiled = compileLimits(source);
    this.rate = compiled.rate && new Lease('rate', compiled.rate.cap, compiled.rate.perMs, sliceOf('rate', compiled.rate.cap), true);
    this.quota = compiled.quota && new Lease('quota', compiled.quota.cap, compiled.quota.perMs, sliceOf('quota', compiled.quota.cap), false);
    this.slots = compiled.streams === undefined ? undefined : new Slots(compiled.streams);
    this.policy = policyField(this);
    this.seenAs = source;
    this.sourceKey = JSON.stringify(source);
  }

  /**
   * Whether a request may start now, without I/O: undefined (yes), a refusal, or `wait` (a lease
   * must come from the store first; `leaseNeeded` starts it).
   */
  check(now: number): LimitRefusal | 'wait' | undefined {
    const own = this.checkOwn(now);
    if (own !== undefined || this.maker === undefined) return own;
    return this.maker.check(now);
  }

  /** `check` of this budget alone, not its makers'. */
  checkOwn(now: number): LimitRefusal | 'wait' | undefined {
    const { rate, quota, slots } = this;
    if (rate !== undefined) {
      rate.roll(now);
      if (rate.balance < 1) {
        if (now < rate.exhaustedUntil) return 'rate_limited';
        if (now < rate.failedUntil) return 'store_unavailable';
        return 'wait';
      }
    }
    if (quota !== undefined) {
      quota.roll(now);
      if (quota.balance <= 0) {
        if (now < quota.exhaustedUntil) return 'quota_exceeded';
        if (now < quota.failedUntil) return 'store_unavailable';
        return 'wait';
      }
    }
    if (slots !== undefined && slots.inUse >= slots.held) {
      if (slots.held >= slots.cap || now < slots.exhaustedUntil) return 'too_many_streams';
      if (now < slots.failedUntil) return 'store_unavailable';
      return 'wait';
    }
    return undefined;
  }

  /** The leases `check` found missing, asked for together. */
  leaseNeeded(now: number): Promise<unknown> {
    const waits: Promise<unknown>[] = [];
    if (this.rate !== undefined && this.rate.balance < 1) waits.push(this.leases.refill(this, this.rate, now));
    if (this.quota !== undefined && this.quota.balance <= 0) waits.push(this.leases.refill(this, this.quota, now));
    if (this.slots !== undefined && this.slots.inUse >= this.slots.held) waits.push(this.leases.takeSlot(this, this.slots, now));
    if (this.maker !== undefined) waits.push(this.maker.leaseNeeded(now));
    return Promise.all(waits);
  }

  /** Spends one request (after `check` said yes) and holds a stream slot until `streamEnded`. */
  admit(now: number): void {
    this.lastUsedAt = now;
    const rate = this.rate;
    if (rate !== undefined) {
      rate.balance -= 1;
      if (rate.isLow) this.refillQuietly(rate, now);
      if (rate.wantsNext(now)) this.leases.prefetch(this, rate, now);
    }
    if (this.slots !== undefined) this.slots.inUse += 1;
    this.maker?.admit(now);
  }

  /**
   * Counts body bytes as they flow; false when the quota is spent (the exchange is then ended).
   * A chunk larger than what is leased passes on credit (at most one slice) while a refill is on
   * its way and the store still had budget; the credit is taken from the next lease.
   */
  spendBytes(bytes: number, now: number): boolean {
    const spent = this.spendOwnBytes(bytes, now);
    return this.maker === undefined ? spent : this.maker.spendBytes(bytes, now) && spent;
  }

  private spendOwnBytes(bytes: number, now: number): boolean {
    const quota = this.quota;
    if (quota === undefined) return true;
    quota.roll(now);
    if (quota.balance >= bytes) {
      quota.balance -= bytes;
      if (quota.isLow) this.refillQuietly(quota, now);
      return true;
    }
    if (now < quota.exhaustedUntil) {
      // The quota ran out mid-body: what is left is less than this piece, and the exchange ends
      // here; the next request is refused rather than admitted into a few stray bytes.
      quota.balance = Math.min(quota.balance, 0);
      return false;
    }
    if (now < quota.failedUntil || quota.balance - bytes < -quota.slice) return false;
    quota.balance -= bytes;
    this.refillQuietly(quota, now);
    return true;
  }

  /** An exchange admitted by `admit` ended, however it ended. */
  streamEnded(): void {
    if (this.slots !== undefined && this.slots.inUse > 0) this.slots.inUse -= 1;
    this.maker?.streamEnded();
  }

  /** The budget up the line (this one first) whose own limit made `check` answer `refusal`; this one when none. */
  refusing(refusal: LimitRefusal, now: number): TokenBudget {
    for (let budget: TokenBudget | undefined = this; budget !== undefined; budget = budget.maker) {
      if (budget.checkOwn(now) === refusal) return budget;
    }
    return this;
  }

  /** Seconds a refused client should wait (Retry-After), at least 1. */
  retryAfter(refusal: LimitRefusal, now: number): number {
    let until = now + 1000;
    if (refusal === 'rate_limited' && this.rate !== undefined) until = this.rate.exhaustedUntil;
    if (refusal === 'quota_exceeded' && this.quota !== undefined) until = this.quota.window + this.quota.perMs;
    return Math.max(1, Math.ceil((until - now) / 1000));
  }

  private refillQuietly(lease: Lease, now: number): void {
    if (lease.pending === undefined && now >= lease.exhaustedUntil && now >= lease.failedUntil) void this.leases.refill(this, lease, now);
  }
}
