// The outbox of events (docs/webhooks.md): what each store keeps beside the change an event describes,
// and the queue a webhook's senders take it from. The store holds the state; src/events/ sends.

/** One event as stored: `data` is the JSON view of the thing (never a secret). */
export interface OutEvent {
  /** `msg_` + random: the Standard Webhooks `webhook-id`, the same on every retry. */
  id: string;
  type: string;
  /** When it happened (epoch ms). */
  at: number;
  data: unknown;
  /** Who made the change, as history names it (`token:<id>` or a user), where the write knows it. */
  actor?: string;
}

export type DeliveryState = 'sending' | 'waiting' | 'delivered' | 'failed';

/** Where one event stands with one webhook. */
export interface Delivery {
  state: DeliveryState;
  attempts: number;
  lastAttemptAt: number | null;
  /** While `sending`: until when the sender holds it (after that another may claim it). */
  leaseUntil: number | null;
  /** While `waiting`: when the next attempt is due. */
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  /** The HTTP status of the last attempt, or null when none came (refused, timed out). */
  lastStatus: number | null;
  lastError: string | null;
}

/** What take() found for a webhook. */
export type Taken =
  /** This sender now holds the event: deliver it and settle(). */
  | { kind: 'event'; event: OutEvent; delivery: Delivery }
  /** The head is held by another sender or backing off: ask again at `until`. */
  | { kind: 'wait'; until: number }
  /** Nothing left to send. */
  | { kind: 'idle' };

/** How an attempt ended. */
export type Attempt = { ok: true; status: number } | { ok: false; status: number | null; error: string; nextAttemptAt: number | null };

/** A recent event with its delivery state per webhook (absent: not reached yet or not wanted). */
export interface EventWithDeliveries extends OutEvent {
  deliveries: Map<string, Delivery>;
}

/**
 * Events are kept this long unless `events.retention` says otherwise (keepEventsFor): the audit
 * log of GET /v1/events. Delivery gives up after 24 h.
 */
export const EVENT_RETENTION_MS = 30 * 86_400_000;

/**
 * The outbox every store keeps. Events are appended by the write methods of the other roles (their
 * optional `events` argument) in the same operation as the change; this is the sending side.
 * Each webhook takes events strictly in order, one at a time across every replica: the head
 * event is held by one sender under a lease, and nothing behind it is sent before it settles,
 * so a receiver sees each token's events in the order they happened.
 */
export interface EventLog {
  /** Keeps events (the audit log) this long from now on: `events.retention`. */
  keepEventsFor?(ms: number): void;
  /** Makes the webhook's queue exist (start at the end: only events from now on are its own). */
  openQueue(webhook: string): Promise<void>;
  /**
   * Takes the webhook's head event when it is free: not held under a live lease, and due.
   * Events whose type `wants` refuses are passed over. `now` and `leaseMs` decide the lease.
   */
  take(webhook: string, consumer: string, wants: readonly string[], now: number, leaseMs: number): Promise<Taken>;
  /** Records an attempt: delivered, given up (nextAttemptAt null) or to retry at nextAttemptAt. */
  settle(webhook: string, event: OutEvent, attempt: Attempt, now: number): Promise<void>;
  /** Events not yet settled for the webhook (the head included; Redis counts unwanted types too). */
  backlog(webhook: string, wants: readonly string[]): Promise<number>;
  /** The newest events first, with their delivery state per webhook named. */
  recentEvents(limit: number, webhooks: readonly string[]): Promise<EventWithDeliveries[]>;
  /**
   * Appends the event unless one was appended under `key` before: true when it was. The key is
   * remembered until `keepUntil` (epoch ms), no longer.
   */
  appendEventOnce(key: string, event: OutEvent, keepUntil: number): Promise<boolean>;
}

export const wanted = (wants: readonly string[], type: string): boolean => wants.includes('*') || wants.includes(type);

/** The delivery after an attempt ended (shared by every backend, so they agree). */
export function settled(before: Delivery, attempt: Attempt, now: number): Delivery {
  const after: Delivery = { ...before, leaseUntil: null, lastAttemptAt: now, lastStatus: attempt.status };
  if (attempt.ok) return { ...after, state: 'delivered', deliveredAt: now, nextAttemptAt: null, lastError: null };
  if (attempt.nextAttemptAt === null) return { ...after, state: 'failed', nextAttemptAt: null, lastError: attempt.error };
  return { ...after, state: 'waiting', nextAttemptAt: attempt.nextAttemptAt, lastError: attempt.error };
}
