// The soak's bookkeeping: what each token's state was when, the fault windows, and the class of
// every outcome. An outcome is expected (counted) or a defect (counted and failing the soak).
import { performance } from 'node:perf_hooks';

/** Outcomes that are correct; every other class is a defect. */
export const EXPECTED = new Set([
  'ok', // 200, whole
  'refused', // 401 on a token that was revoked at some point
  'unavailable in outage', // 503 while the store was down (or just after)
  'upstream down', // 502/503/504 while the upstream was restarting
  'cut: token revoked', // an exchange ended because its token was being revoked, which is correct
  'cut: replica shutdown', // in flight on the replica that was sent SIGTERM
  'cut: upstream restart', // in flight on the upstream that was killed
  'served late in outage', // a token revoked in or near a store outage served within cache.ttl (a replica may have missed the message)
  'uncertain token', // a revoke or restore whose call failed (store down): its outcome is not known
]);

export class Ledger {
  constructor({ boundMs, ttlMs, graceMs }) {
    this.boundMs = boundMs;
    this.ttlMs = ttlMs;
    this.graceMs = graceMs;
    this.counts = new Map();
    this.examples = new Map();
    /** Fault windows: { kind: 'store' | 'upstream' | 'replica', replica?, from, to } (to: Infinity while open). */
    this.windows = [];
    /** Revoke returned -> stream ended, in ms, outside store outages. */
    this.streamLags = [];
    this.started = performance.now();
  }

  openWindow(kind, replica) {
    const w = { kind, replica, from: performance.now(), to: Infinity };
    this.windows.push(w);
    return () => (w.to = performance.now() + this.graceMs);
  }

  inWindow(kind, from, to, replica) {
    return this.windows.some((w) => w.kind === kind && (replica === undefined || w.replica === replica) && w.from <= to && from <= w.to);
  }

  count(kind, detail) {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (!EXPECTED.has(kind)) {
      const list = this.examples.get(kind) ?? [];
      if (list.length < 5) list.push({ at: ((performance.now() - this.started) / 1000).toFixed(1), ...detail });
      this.examples.set(kind, list);
    }
  }

  /** What the token was when a request left, to judge its outcome by. */
  snapshot(token) {
    return { state: token.state, revokedAt: token.revokedAt, revokes: token.revokes, uncertain: token.uncertain };
  }

  /** A revoke was under way or done when the request left, or one started before it ended. */
  revokedDuring(token, at) {
    return at.state === 'revoking' || at.state === 'revoked' || token.revokes > at.revokes;
  }

  /**
   * One finished request: `status` (undefined when it failed or was cut), on `replica`, sent at
   * `from`, ended at `to`.
   */
  judge(token, at, { status, error, replica, from, to }) {
    const detail = {
      token: token.id,
      replica,
      status,
      error: error?.code ?? error?.message,
      from: ((from - this.started) / 1000).toFixed(3),
      ms: (to - from).toFixed(0),
    };
    const storeDown = this.inWindow('store', from, to);
    // Served, refused or cut on a token whose last change failed: nothing to judge it by.
    if ((at.uncertain || token.uncertain) && (status === 200 || status === 401 || status === undefined)) return this.count('uncertain token', detail);
    if (status === 200) {
      const late = at.state === 'revoked' ? from - at.revokedAt - this.boundMs : -1;
      if (late <= 0) return this.count('ok', detail);
      // A replica that was away from the store may have missed the message (one published while
      // its subscriber was still reconnecting): cache.ttl bounds it.
      const revokedNearOutage = this.inWindow('store', at.revokedAt, at.revokedAt);
      if ((storeDown || revokedNearOutage) && late < this.ttlMs) return this.count('served late in outage', detail);
      return this.count('served past the revocation bound', { ...detail, lateMs: late.toFixed(0) });
    }
    if (status === 401) return this.count(token.steady ? 'wrongful refusal' : 'refused', detail);
    if (status === 503 && storeDown) return this.count('unavailable in outage', detail);
    if (status >= 502 && status <= 504 && this.inWindow('upstream', from, to)) return this.count('upstream down', detail);
    if (status !== undefined) return this.count(status >= 500 ? `defect: ${status}` : `defect: status ${status}`, detail);
    // Failed or cut: by whom?
    if (!token.steady && this.revokedDuring(token, at)) return this.count('cut: token revoked', detail);
    if (this.inWindow('replica', from, to, replica)) return this.count('cut: replica shutdown', detail);
    if (this.inWindow('upstream', from, to)) return this.count('cut: upstream restart', detail);
    return this.count('wrongful cut', detail);
  }

  defects() {
    return [...this.counts].filter(([kind]) => !EXPECTED.has(kind));
  }
}

export const percentile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);

/** Least-squares slope of (x, y) pairs, in y per x. */
export function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}
