import { type Delivery, EVENT_RETENTION_MS, type EventWithDeliveries, type OutEvent, type Taken, wanted } from '../event-log.js';

/** A change to the outbox, as the memory store applies it and the file store journals it. */
export type EventChange =
  /** `seq` only in a compacted journal, which keeps each event's place (cursors point at it). */
  | { op: 'event'; event: OutEvent; seq?: number; once?: { key: string; keepUntil: number } }
  | { op: 'once'; key: string; keepUntil: number }
  /** A queue opened, or its cursor moved past events it does not want. */
  | { op: 'queue'; webhook: string; cursor: number }
  /** A delivery changed; `done` moves the cursor past the event (delivered or given up). */
  | { op: 'delivery'; webhook: string; id: string; delivery: Delivery; done: boolean };

interface Stored {
  seq: number;
  event: OutEvent;
}

/**
 * The outbox of the memory and file stores: events in order with a sequence number, per webhook
 * the sequence of the last event it is done with, and the delivery state of each event.
 */
export class EventState {
  private readonly events: Stored[] = [];
  private nextSeq = 1;
  private readonly bySeq = new Map<string, number>();
  readonly cursors = new Map<string, number>();
  readonly deliveries = new Map<string, Map<string, Delivery>>();
  /** appendEventOnce keys, with how long each must be remembered. */
  readonly once = new Map<string, number>();
  /** How long events are kept (events.retention). */
  retentionMs = EVENT_RETENTION_MS;

  apply(change: EventChange): void {
    switch (change.op) {
      case 'event':
        if (change.once) this.once.set(change.once.key, change.once.keepUntil);
        this.append([change.event], change.seq);
        break;
      case 'once':
        this.once.set(change.key, change.keepUntil);
        break;
      case 'queue':
        this.cursors.set(change.webhook, change.cursor);
        // A compacted journal may hold no event at or past a cursor: numbering goes on after it.
        this.nextSeq = Math.max(this.nextSeq, change.cursor + 1);
        break;
      case 'delivery': {
        let map = this.deliveries.get(change.id);
        if (!map) {
          map = new Map();
          this.deliveries.set(change.id, map);
        }
        map.set(change.webhook, structuredClone(change.delivery));
        const seq = this.bySeq.get(change.id);
        if (change.done && seq !== undefined && seq > (this.cursors.get(change.webhook) ?? 0)) this.cursors.set(change.webhook, seq);
        break;
      }
    }
  }

  append(events: readonly OutEvent[], at?: number): void {
    for (const event of events) {
      const seq = at ?? this.nextSeq;
      this.nextSeq = seq + 1;
      this.events.push({ seq, event: structuredClone(event) });
      this.bySeq.set(event.id, seq);
      this.trim(event.at);
    }
  }

  /** Drops events (and once keys) past retention, counted from the newest event's time. */
  private trim(now: number): void {
    while (this.events.length > 0 && this.events[0]!.event.at < now - this.retentionMs) {
      const { event } = this.events.shift()!;
      this.bySeq.delete(event.id);
      this.deliveries.delete(event.id);
    }
    // Once keys are many (one per token near its expiry): looked over every 1024th event only.
    if (this.nextSeq % 1024 === 0) for (const [key, keepUntil] of this.once) if (keepUntil < now) this.once.delete(key);
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The first event after the webhook's cursor that it wants, and the cursor past skipped ones. */
  head(webhook: string, wants: readonly string[]): { stored: Stored | undefined; skippedTo: number | undefined } {
    const cursor = this.cursors.get(webhook);
    if (cursor === undefined) return { stored: undefined, skippedTo: undefined };
    let skippedTo: number | undefined;
    for (let i = this.firstAfter(cursor); i < this.events.length; i++) {
      const stored = this.events[i]!;
      if (wanted(wants, stored.event.type)) return { stored, skippedTo };
      skippedTo = stored.seq;
    }
    return { stored: undefined, skippedTo };
  }

  /** Index of the first event with a sequence above `seq` (binary search: sequences ascend). */
  private firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** What take() decides for the head, without changing anything. */
  decide(stored: Stored, webhook: string, now: number): Taken | Delivery {
    const before = this.deliveries.get(stored.event.id)?.get(webhook);
    if (before?.state === 'sending' && before.leaseUntil !== null && now < before.leaseUntil) return { kind: 'wait', until: before.leaseUntil };
    if (before?.state === 'waiting' && before.nextAttemptAt !== null && now < before.nextAttemptAt) return { kind: 'wait', until: before.nextAttemptAt };
    return (
      before ?? {
        state: 'sending',
        attempts: 0,
        lastAttemptAt: null,
        leaseUntil: null,
        nextAttemptAt: null,
        deliveredAt: null,
        lastStatus: null,
        lastError: null,
      }
    );
  }

  delivery(id: string, webhook: string): Delivery | undefined {
    return this.deliveries.get(id)?.get(webhook);
  }

  isHead(webhook: string, id: string): boolean {
    const seq = this.bySeq.get(id);
    return seq !== undefined && seq > (this.cursors.get(webhook) ?? Infinity);
  }

  backlog(webhook: string, wants: readonly string[]): number {
    const cursor = this.cursors.get(webhook);
    if (cursor === undefined) return 0;
    let count = 0;
    for (let i = this.firstAfter(cursor); i < this.events.length; i++) if (wanted(wants, this.events[i]!.event.type)) count++;
    return count;
  }

  recent(limit: number, webhooks: readonly string[]): EventWithDeliveries[] {
    const out: EventWithDeliveries[] = [];
    for (let i = this.events.length - 1; i >= 0 && out.length < limit; i--) {
      const { event } = this.events[i]!;
      const deliveries = new Map<string, Delivery>();
      for (const webhook of webhooks) {
        const delivery = this.delivery(event.id, webhook);
        if (delivery) deliveries.set(webhook, structuredClone(delivery));
      }
      out.push({ ...structuredClone(event), deliveries });
    }
    return out;
  }

  /** The changes that rebuild the outbox (a compacted journal). */
  *snapshot(): Generator<EventChange> {
    for (const [key, keepUntil] of this.once) yield { op: 'once', key, keepUntil };
    for (const { seq, event } of this.events) yield { op: 'event', event, seq };
    for (const [webhook, cursor] of this.cursors) yield { op: 'queue', webhook, cursor };
    for (const { event } of this.events) {
      for (const [webhook, delivery] of this.deliveries.get(event.id) ?? []) yield { op: 'delivery', webhook, id: event.id, delivery, done: false };
    }
  }
}
