import type { Clock } from '../clock.js';
import { FlushTimer } from '../flush-timer.js';
import { redactSecrets } from '../log/redact.js';
import type { TokenRecords } from '../store/token-store.js';
import type { LastUse } from '../tokens/record.js';

/** The User-Agent is kept to 256 characters (docs/tokens.md, "Last use"). */
const MAX_USER_AGENT = 256;

/** Where a use came from: read only when the use is queued, so most requests read nothing. */
export interface UseSource {
  readonly remoteAddress: string | undefined;
  /** The request's User-Agent, looked up only when asked. */
  userAgent(): string | undefined;
}

/**
 * Collects token use and writes `lastUsedAt` in batches (docs/stores.md): at most one write per token
 * per interval, never a store write per request.
 */
export class LastUsedRecorder {
  private pending = new Map<string, LastUse>();
  /** When each token's use was last queued; older than the interval means queue again. */
  private readonly queuedAt = new Map<string, number>();
  private readonly timer: FlushTimer;

  constructor(
    private readonly store: Pick<TokenRecords, 'touchLastUsed'>,
    private readonly clock: Clock,
    intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.timer = new FlushTimer(() => this.flush(), intervalMs);
  }

  /** Notes a use; costs one map lookup when the token was queued within the interval. */
  record(id: string, now: number, source?: UseSource): void {
    const last = this.queuedAt.get(id);
    if (last !== undefined && now - last < this.timer.intervalMs) return;
    this.queuedAt.set(id, now);
    this.pending.set(id, { at: now, ip: source?.remoteAddress ?? null, userAgent: userAgentOf(source) });
  }

  /** Writes what is pending; on failure it stays pending for the next flush. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.touchLastUsed(batch);
    } catch (err) {
      for (const [id, use] of batch) if (!this.pending.has(id)) this.pending.set(id, use);
      this.onError(err);
    }
    const cutoff = this.clock.now() - this.timer.intervalMs;
    for (const [id, at] of this.queuedAt) if (at <= cutoff) this.queuedAt.delete(id);
  }

  /** A reload set `cache.lastUsedInterval`: the timer runs at the new interval from now on. */
  setInterval(intervalMs: number): void {
    this.timer.retune(intervalMs);
  }

  start(): void {
    this.timer.start();
  }

  async stop(): Promise<void> {
    this.timer.stop();
    await this.flush();
  }
}

/** The User-Agent as stored: cut to 256 characters, any secret-shaped string in it redacted (it is shown to admins). */
function userAgentOf(source: UseSource | undefined): string | null {
  const value = source?.userAgent();
  if (typeof value !== 'string' || value === '') return null;
  return redactSecrets(value.slice(0, MAX_USER_AGENT));
}
