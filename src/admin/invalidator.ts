import type { Invalidation, Invalidations } from '../store/token-store.js';

/** Drops cached tokens in this process at once (the store's channel tells the other replicas). */
export interface LocalEviction {
  apply(message: Invalidation): void;
}

/**
 * Makes an access-reducing change take effect everywhere: evicts here at once (the very next
 * request through this replica sees it), then publishes on the store's invalidation channel for
 * every other replica. Every admin service that shrinks access takes one of these.
 */
export class Invalidator {
  constructor(
    private readonly eviction: LocalEviction,
    private readonly store: Pick<Invalidations, 'publish'>,
  ) {}

  async invalidate(message: Invalidation): Promise<void> {
    this.eviction.apply(message);
    await this.store.publish(message);
  }
}
