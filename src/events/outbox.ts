import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import type { Delivery } from '../store/event-log.js';
import { ExpirySweep, type ExpirySweepStore } from './expiry-sweep.js';
import { type SenderObserver, WebhookSender } from './sender.js';
import { displayUrl, type WebhookConfig, webhookId } from './webhooks.js';

export interface OutboxConfig {
  webhooks: WebhookConfig[];
  expiringNotice: number;
  timeout: number;
  claimAfter: number;
  poll: number;
  sweepInterval: number;
  backoff: { initial: number; max: number };
}

export interface OutboxOptions {
  config: OutboxConfig;
  /** Every webhook's queue, and what the expiry sweep reads. */
  store: ExpirySweepStore;
  clock: Clock;
  logger: Logger;
  fetch?: typeof fetch;
  observer?: SenderObserver;
}

/** One event as GET /v1/events and `tollgate events` show it. */
export interface EventListing {
  id: string;
  type: string;
  timestamp: string;
  actor: string | null;
  data: unknown;
  deliveries: Array<{
    webhook: string;
    state: Delivery['state'] | 'queued';
    attempts: number;
    lastAttemptAt: string | null;
    nextAttemptAt: string | null;
    deliveredAt: string | null;
    lastStatus: number | null;
    lastError: string | null;
  }>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Webhooks out (docs/webhooks.md): a sender per webhook, the expiry sweep, and what GET /v1/events reads. */
export class Outbox {
  readonly senders: WebhookSender[];
  readonly sweep: ExpirySweep;
  /** This process in consumer groups and leases: host, pid and a random part (a restarted pod is new). */
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;

  constructor(private readonly options: OutboxOptions) {
    const { config } = options;
    this.senders = config.webhooks.map(
      (webhook) =>
        new WebhookSender({
          store: options.store,
          clock: options.clock,
          logger: options.logger,
          webhook,
          consumer: this.consumer,
          fetch: options.fetch ?? fetch,
          retry: { initialMs: config.backoff.initial, maxMs: config.backoff.max, giveUpMs: 86_400_000 },
          timeoutMs: config.timeout,
          leaseMs: config.claimAfter,
          pollMs: config.poll,
          ...(options.observer ? { observer: options.observer } : {}),
        }),
    );
    this.sweep = new ExpirySweep({
      store: options.store,
      clock: options.clock,
      logger: options.logger,
      noticeMs: config.expiringNotice,
      intervalMs: config.sweepInterval,
      holder: this.consumer,
      onEvents: () => this.wake(),
    });
  }

  get enabled(): boolean {
    return this.senders.length > 0;
  }

  /** Opens every webhook's queue (before the API answers, so no event of this replica is missed) and starts sending. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    for (const webhook of this.options.config.webhooks) await this.options.store.openQueue(webhookId(webhook.url));
    for (const sender of this.senders) sender.start();
    this.sweep.start();
  }

  /** A change was written here: look now rather than at the next poll. */
  wake(): void {
    for (const sender of this.senders) sender.wake();
  }

  async stop(): Promise<void> {
    await this.sweep.stop();
    await Promise.all(this.senders.map((sender) => sender.stop()));
  }

  /** Events not yet delivered, over every webhook (tollgate_webhook_backlog). */
  async backlog(): Promise<number> {
    let total = 0;
    for (const webhook of this.options.config.webhooks) total += await this.options.store.backlog(webhookId(webhook.url), webhook.events);
    return total;
  }

  /** The newest events, newest first, with each webhook that wants it and where it stands. */
  async recent(limit: number, keep: (event: { type: string; data: unknown; actor?: string | undefined }) => boolean): Promise<EventListing[]> {
    const webhooks = this.options.config.webhooks;
    const ids = webhooks.map((webhook) => webhookId(webhook.url));
    const events = await this.options.store.recentEvents(limit, ids);
    return events.filter(keep).map((event) => ({
      id: event.id,
      type: event.type,
      timestamp: iso(event.at)!,
      actor: event.actor ?? null,
      data: event.data,
      deliveries: webhooks
        .map((webhook, i) => ({ webhook, delivery: event.deliveries.get(ids[i]!) }))
        .filter(({ webhook }) => webhook.events.includes('*') || webhook.events.includes(event.type))
        .map(({ webhook, delivery }) => ({
          webhook: displayUrl(webhook.url),
          state: delivery?.state ?? 'queued',
          attempts: delivery?.attempts ?? 0,
          lastAttemptAt: iso(delivery?.lastAttemptAt ?? null),
          nextAttemptAt: iso(delivery?.nextAttemptAt ?? null),
          deliveredAt: iso(delivery?.deliveredAt ?? null),
          lastStatus: delivery?.lastStatus ?? null,
          lastError: delivery?.lastError ?? null,
        })),
    }));
  }
}
