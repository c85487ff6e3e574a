import { type Attempt, type EventLog, type EventWithDeliveries, type OutEvent, settled, type Taken } from '../event-log.js';
import type { MemoryState } from './state.js';
import { copy, type MemoryWrites } from './writes.js';

/**
 * The outbox in this process (docs/webhooks.md): one process holds it, so a lease is a map entry
 * and every step runs in exclusive(), one at a time; each change is journaled by the file store
 * like any other.
 */
export class MemoryEvents implements EventLog {
  private readonly state: MemoryState;

  constructor(private readonly writes: MemoryWrites) {
    this.state = writes.state;
  }

  openQueue(webhook: string): Promise<void> {
    return this.writes.exclusive(async () => {
      if (!this.state.outbox.cursors.has(webhook)) await this.writes.commit({ op: 'queue', webhook, cursor: this.state.outbox.lastSeq });
    });
  }

  take(webhook: string, _consumer: string, wants: readonly string[], now: number, leaseMs: number): Promise<Taken> {
    return this.writes.exclusive(async (): Promise<Taken> => {
      const outbox = this.state.outbox;
      const { stored, skippedTo } = outbox.head(webhook, wants);
      if (skippedTo !== undefined) await this.writes.commit({ op: 'queue', webhook, cursor: skippedTo });
      if (!stored) return { kind: 'idle' };
      const decided = outbox.decide(stored, webhook, now);
      if ('kind' in decided) return decided;
      const delivery = { ...decided, state: 'sending' as const, attempts: decided.attempts + 1, lastAttemptAt: now, leaseUntil: now + leaseMs };
      await this.writes.commit({ op: 'delivery', webhook, id: stored.event.id, delivery, done: false });
      return { kind: 'event', event: copy(stored.event), delivery: copy(delivery) };
    });
  }

  settle(webhook: string, event: OutEvent, attempt: Attempt, now: number): Promise<void> {
    return this.writes.exclusive(async () => {
      const before = this.state.outbox.delivery(event.id, webhook);
      // Settled already (a sender whose lease ran out, after another finished): nothing to add.
      if (!before || !this.state.outbox.isHead(webhook, event.id)) return;
      const delivery = settled(before, attempt, now);
      await this.writes.commit({ op: 'delivery', webhook, id: event.id, delivery, done: delivery.state === 'delivered' || delivery.state === 'failed' });
    });
  }

  async backlog(webhook: string, wants: readonly string[]): Promise<number> {
    return this.state.outbox.backlog(webhook, wants);
  }

  async recentEvents(limit: number, webhooks: readonly string[]): Promise<EventWithDeliveries[]> {
    return this.state.outbox.recent(limit, webhooks);
  }

  keepEventsFor(ms: number): void {
    this.state.outbox.retentionMs = ms;
  }

  appendEventOnce(key: string, event: OutEvent, keepUntil: number): Promise<boolean> {
    return this.writes.exclusive(async () => {
      if (this.state.outbox.once.has(key)) return false;
      await this.writes.commit({ op: 'event', event, once: { key, keepUntil } });
      return true;
    });
  }
}
