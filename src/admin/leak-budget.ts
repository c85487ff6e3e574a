import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';

/** Secrets one client address may report per minute: one full report (docs/admin-api.md: 1000 a call). */
export const LEAK_SECRETS_PER_MINUTE = 1000;
const WINDOW_MS = 60_000;

/**
 * A fixed budget of reported secrets per client address per minute, so the unauthenticated leak
 * report is no oracle at speed. Addresses live in a bounded LRU: a flood of addresses evicts old
 * windows (which only resets their budget) and cannot grow memory.
 */
export class LeakBudget {
  private readonly windows = new LRUCache<string, { start: number; spent: number }>({ max: 10_000 });

  constructor(private readonly clock: Clock) {}

  /**
   * Spends the first secret of a report before its body is read (a report names at least one),
   * so a spent address costs no read and no parse, and however many reports one address sends
   * at once, at most a budget's worth of bodies is read. Answers as `spend` does.
   */
  admit(address: string): number | undefined {
    return this.spend(address, 1);
  }

  /** Spends `count` for `address`; answers the seconds to wait when that is over budget (nothing is spent then). */
  spend(address: string, count: number): number | undefined {
    const now = this.clock.now();
    let window = this.windows.get(address);
    if (window === undefined || now - window.start >= WINDOW_MS) {
      window = { start: now, spent: 0 };
      this.windows.set(address, window);
    }
    if (window.spent + count > LEAK_SECRETS_PER_MINUTE) return Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000));
    window.spent += count;
    return undefined;
  }
}
