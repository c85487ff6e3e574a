import type { CacheObserver } from '../../src/auth/token-cache.js';
import type { Clock } from '../../src/clock.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StoreUnavailableError } from '../../src/store/token-store.js';
import type { LastUse, TokenRecord, UserRecord } from '../../src/tokens/record.js';

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(public ms = 1_750_000_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A memory store that counts reads and writes and can be switched "down". */
export class CountingStore extends MemoryStore {
  getTokenCalls = 0;
  touchCalls = 0;
  isDown = false;
  /** When set, getToken waits for this before answering (to hold lookups in flight). */
  gate: Promise<void> | undefined;

  override async getToken(id: string): Promise<TokenRecord | undefined> {
    this.getTokenCalls++;
    if (this.gate) await this.gate;
    if (this.isDown) throw new StoreUnavailableError('getToken');
    return super.getToken(id);
  }

  override async getUser(name: string): Promise<UserRecord | undefined> {
    if (this.isDown) throw new StoreUnavailableError('getUser');
    return super.getUser(name);
  }

  override async touchLastUsed(uses: ReadonlyMap<string, LastUse>): Promise<void> {
    this.touchCalls++;
    if (this.isDown) throw new StoreUnavailableError('touchLastUsed');
    return super.touchLastUsed(uses);
  }
}

/** Records what the cache reports. */
export class RecordingObserver implements CacheObserver {
  hits = 0;
  misses = 0;
  resets = 0;
  lags: number[] = [];
  storeErrors: string[] = [];
  lookup(): void {}
  hit(): void {
    this.hits++;
  }
  miss(): void {
    this.misses++;
  }
  storeError(op: string): void {
    this.storeErrors.push(op);
  }
  invalidated(lag: number): void {
    this.lags.push(lag);
  }
  reset(): void {
    this.resets++;
  }
}
