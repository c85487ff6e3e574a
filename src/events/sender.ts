import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import type { Attempt, EventLog, OutEvent, Taken } from '../store/event-log.js';
import { nextAttemptAt, type RetryPolicy } from './backoff.js';
import { secretKey, signedHeaders } from './signing.js';
import { displayUrl, type WebhookConfig, webhookId } from './webhooks.js';

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

/** What a sender reports, for tollgate_webhook_deliveries_total. */
export interface SenderObserver {
  attempted(outcome: DeliveryOutcome): void;
}

export interface SenderOptions {
  store: EventLog;
  clock: Clock;
  logger: Logger;
  webhook: WebhookConfig;
  /** This replica's name in the consumer group (unique per process). */
  consumer: string;
  fetch: typeof fetch;
  retry: RetryPolicy;
  /** Each POST is abandoned after this long (10 s, docs/webhooks.md). */
  timeoutMs: number;
  /** How long a sender holds an event before another may take it over (more than timeoutMs). */
  leaseMs: number;
  /** How often an idle sender looks for new events. */
  pollMs: number;
  observer?: SenderObserver;
}

/**
 * Delivers one webhook's events, one at a time and in order, from any replica (docs/webhooks.md). Each
 * step takes the head event from the store under a lease, POSTs it signed, and settles it: a 2xx
 * is delivered, anything else is retried with back-off until the event is 24 h old. A replica
 * that dies mid-delivery leaves its lease to run out; another then takes the event over.
 */
export class WebhookSender {
  readonly id: string;
  private readonly key: Buffer;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stepping: Promise<void> | undefined;
  private stopped = false;
  /** The store failed on the last pass: said once in the log, not at every poll. */
  private storeFailing = false;
  /** A wake() came while a pass was running: look once more when it ends. */
  private again = false;
  /** Aborts the POST in flight at stop(): shutdown does not wait out a slow receiver. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: SenderOptions) {
    this.id = webhookId(options.webhook.url);
    this.key = secretKey(options.webhook.secret);
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  /** Looks again now (a change was just written here). */
  wake(): void {
    if (!this.running) return;
    if (this.stepping) this.again = true;
    else this.schedule(0);
  }

  /** Stops sending; an attempt in flight is cut short and counts as failed (it is retried, here or elsewhere). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.stepping;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stepping = this.loop().finally(() => (this.stepping = undefined));
    }, ms);
    this.timer.unref();
  }

  /** Sends while there is something to send now, then waits for what comes next. */
  private async loop(): Promise<void> {
    let waitMs = this.options.pollMs;
    this.again = false;
    try {
      for (;;) {
        if (this.stopped) return;
        const taken = await this.step();
        if (this.storeFailing) this.options.logger.warn({ webhook: displayUrl(this.options.webhook.url) }, 'webhook sender reaches the store again');
        this.storeFailing = false;
        if (taken.kind === 'event') continue;
        if (taken.kind === 'wait') waitMs = Math.max(10, Math.min(this.options.pollMs, taken.until - this.options.clock.now()));
        break;
      }
    } catch (err) {
      if (!this.storeFailing)
        this.options.logger.warn(
          { webhook: displayUrl(this.options.webhook.url), err: (err as Error).message },
          'webhook sender cannot reach the store; will retry',
        );
      this.storeFailing = true;
    }
    if (this.running) this.schedule(this.again ? 0 : waitMs);
  }

  /** Takes the head event if it is free and delivers it: one attempt. */
  async step(): Promise<Taken> {
    const { store, clock, webhook, consumer } = this.options;
    const taken = await store.take(this.id, consumer, webhook.events, clock.now(), this.options.leaseMs);
    if (taken.kind !== 'event') return taken;
    const attempt = await this.attempt(taken.event, taken.delivery.attempts);
    await store.settle(this.id, taken.event, attempt, clock.now());
    return taken;
  }

  private async attempt(event: OutEvent, attempts: number): Promise<Attempt> {
    const { clock, webhook, logger, observer } = this.options;
    const body = JSON.stringify({ type: event.type, timestamp: new Date(event.at).toISOString(), data: event.data });
    let status: number | null = null;
    let error: string;
    try {
      const response = await this.options.fetch(webhook.url, {
        method: 'POST',
        headers: signedHeaders(this.key, event.id, clock.now(), body),
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stopping.signal]),
      });
      status = response.status;
      await response.body?.cancel().catch(() => {});
      if (status >= 200 && status < 300) {
        observer?.attempted('delivered');
        return { ok: true, status };
      }
      error = `HTTP ${status}`;
    } catch (err) {
      const name = (err as Error).name;
      error =
        name === 'TimeoutError'
          ? `no answer within ${this.options.timeoutMs} ms`
          : name === 'AbortError'
            ? 'stopped: this replica is shutting down'
            : describeFailure(err);
    }
    const next = nextAttemptAt(this.options.retry, attempts, event.at, clock.now());
    observer?.attempted(next === null ? 'failed' : 'retried');
    const fields = { webhook: displayUrl(webhook.url), event: event.id, type: event.type, attempts, error };
    if (next === null) logger.error(fields, 'webhook delivery failed for 24 h; giving up on this event');
    else logger.warn({ ...fields, retryAt: new Date(next).toISOString() }, 'webhook delivery failed; will retry');
    return { ok: false, status, error, nextAttemptAt: next };
  }
}

/** Why a request failed, from the error and its cause (fetch wraps the socket error). */
function describeFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
