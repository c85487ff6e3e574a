/** When an attempt is retried: growing back-off, and giving up once the event is `giveUpMs` old. */
export interface RetryPolicy {
  /** The wait after the first failed attempt; each further failure doubles it. */
  initialMs: number;
  /** The longest wait between attempts (a receiver back up waits at most this long). */
  maxMs: number;
  /** Retries stop this long after the event (docs/webhooks.md: 24 h). */
  giveUpMs: number;
}

/** When to try again after failed attempt number `attempts` (1 = the first), or null to give up. */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, eventAt: number, now: number): number | null {
  const wait = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempts - 1, 40));
  const at = now + wait;
  return at > eventAt + policy.giveUpMs ? null : at;
}
