import type { Invalidation, InvalidationListener, Invalidations } from '../token-store.js';
import { copy } from './writes.js';

/** Invalidations in one process: every "replica" is this one, so delivery is a direct call. */
export class MemoryInvalidations implements Invalidations {
  private readonly listeners: InvalidationListener[] = [];

  async publish(message: Invalidation): Promise<void> {
    for (const listener of this.listeners) listener.onMessage(copy(message));
  }

  subscribe(listener: InvalidationListener): void {
    this.listeners.push(listener);
  }
}
