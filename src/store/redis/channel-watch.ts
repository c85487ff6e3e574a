/**
 * Watches a pub/sub subscription for silence. Pub/sub is at-most-once: a subscriber that stops
 * receiving without its connection dropping (a proxy in between, a half-open TCP connection, an
 * UNSUBSCRIBE gone astray) would leave revocations to the cache TTL. So every replica publishes a
 * heartbeat each interval, every replica hears them (its own included), and one that hears
 * nothing on its subscription for three intervals says so: its cache is suspect and its
 * subscriber is renewed. The timer is unref'd and carries no state beyond the last time heard.
 */
export interface ChannelWatchOptions {
  intervalMs: number;
  now: () => number;
  /** Publishes one heartbeat; a failure (store down) is the store's to report, not ours. */
  beat: () => Promise<unknown>;
  /** Called once per silence of three intervals (again after three more if it lasts). */
  onSilent: (silentMs: number) => void;
}

/** Intervals without a message before the subscription counts as deaf. */
export const SILENT_INTERVALS = 3;

export class ChannelWatch {
  private lastHeard: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ChannelWatchOptions) {
    this.lastHeard = options.now();
  }

  /** Something arrived on the subscription (a heartbeat or an invalidation). */
  heard(): void {
    this.lastHeard = this.options.now();
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One interval: publish, then judge the silence so far. */
  tick(): void {
    this.options.beat().catch(() => {});
    const silentMs = this.options.now() - this.lastHeard;
    if (silentMs >= SILENT_INTERVALS * this.options.intervalMs) {
      this.lastHeard = this.options.now();
      this.options.onSilent(silentMs);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
