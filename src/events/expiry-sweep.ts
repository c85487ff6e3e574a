import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import { EVENT_RETENTION_MS, type EventLog } from '../store/event-log.js';
import type { Leases, TokenRecords } from '../store/token-store.js';
import { viewOfToken } from '../tokens/views.js';
import { makeEvent } from './emitting-store.js';

/** The event log, a lease so one replica sweeps at a time, and the tokens about to expire. */
export type ExpirySweepStore = EventLog & Pick<Leases, 'lease'> & Pick<TokenRecords, 'getTokens' | 'tokensExpiringBetween'>;

const BATCH = 200;

export interface ExpirySweepOptions {
  store: ExpirySweepStore;
  clock: Clock;
  logger: Logger;
  /** events.expiringNotice: token.expiring goes out this long before the expiry. */
  noticeMs: number;
  /** How often a sweep runs. */
  intervalMs: number;
  /** This replica's name for the sweep's lease. */
  holder: string;
  /** Told when a sweep appended events (the senders look at once). */
  onEvents?: () => void;
}

/**
 * Finds tokens coming up to their expiry and past it, and appends token.expiring and
 * token.expired (docs/webhooks.md), each once per token and expiry. A lease lets one replica sweep at a
 * time; "once" does not rest on it: each event is appended under a key the store refuses twice
 * (a token's expiry moved later makes a new key, and a new notice). Expiries further back than
 * the store keeps events are not looked at.
 */
export class ExpirySweep {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(private readonly options: ExpirySweepOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.sweeping)
        this.sweeping = this.sweep()
          .catch((err: unknown) => {
            this.options.logger.warn({ err: (err as Error).message }, 'expiry sweep failed; will try again');
          })
          .finally(() => (this.sweeping = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One sweep, if this replica holds the lease: how many events it appended. */
  async sweep(): Promise<number> {
    const { store, clock, noticeMs, holder } = this.options;
    const now = clock.now();
    if (!(await store.lease('expiry-sweep', holder, this.options.intervalMs * 2, now))) return 0;
    let appended = 0;
    const expiring = await store.tokensExpiringBetween(now, now + noticeMs);
    const expired = await store.tokensExpiringBetween(now - EVENT_RETENTION_MS, now);
    for (const [ids, type] of [
      [expiring, 'token.expiring'],
      [expired, 'token.expired'],
    ] as const) {
      // In batches sent together (Redis pipelines them): every token in the windows is looked at
      // on each sweep, since an edit may move an expiry into a window already swept.
      for (let i = 0; i < ids.length; i += BATCH) {
        const records = await store.getTokens(ids.slice(i, i + BATCH));
        const added = await Promise.all(
          records.map((record) => {
            // Stored-active with an expiry is what the index holds; read again, it may have changed.
            if (record?.status !== 'active' || record.expiresAt === null) return false;
            if ((type === 'token.expired') !== record.expiresAt <= now) return false;
            const event = makeEvent(type, now, viewOfToken(record, now));
            return store.appendEventOnce(`${type}:${record.id}:${record.expiresAt}`, event, record.expiresAt + EVENT_RETENTION_MS);
          }),
        );
        appended += added.filter(Boolean).length;
      }
    }
    if (appended > 0) this.options.onEvents?.();
    return appended;
  }
}
