import type { Leases } from '../token-store.js';

/** Leases in this process: a map entry per name (no name claims: the services' own suffice in one process). */
export class MemoryLeases implements Leases {
  private readonly leases = new Map<string, { holder: string; until: number }>();

  async lease(name: string, holder: string, ms: number, now: number): Promise<boolean> {
    const current = this.leases.get(name);
    if (current && current.holder !== holder && current.until > now) return false;
    this.leases.set(name, { holder, until: now + ms });
    return true;
  }
}
