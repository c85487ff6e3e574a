/**
 * The interval behind a write-behind batch (last use, usage history): runs `flush` every
 * `intervalMs` once started, never keeps the process alive, and takes a new interval from a
 * reload without losing its place (a stopped timer stays stopped).
 */
export class FlushTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flush: () => Promise<void>,
    private interval: number,
  ) {}

  get intervalMs(): number {
    return this.interval;
  }

  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.flush(), this.interval);
    this.timer.unref();
  }

  /** The timer runs at `intervalMs` from now on (when it runs at all). */
  retune(intervalMs: number): void {
    this.interval = intervalMs;
    if (this.timer !== undefined) this.start();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
