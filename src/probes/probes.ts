import { effectiveRights, type Identity } from '../auth/authorize.js';
import type { StoreHealth } from '../store/token-store.js';
import { ALL_REPOSITORIES } from '../tokens/record.js';

/** A probe's answer: its status and JSON body (the admin API's reply shape). */
export interface ProbeReply {
  status: number;
  json: { status: string; store?: string };
}

/** Liveness: the process serves. */
export const LIVE: ProbeReply = Object.freeze({ status: 200, json: Object.freeze({ status: 'ok' }) });

/** Readiness: the store answers and shutdown has not begun (503 from the first signal on). */
export async function readiness(store: Pick<StoreHealth, 'ping' | 'backend'>, isDraining: boolean): Promise<ProbeReply> {
  if (isDraining) return { status: 503, json: { status: 'draining' } };
  try {
    await store.ping();
    return { status: 200, json: { status: 'ready', store: store.backend } };
  } catch {
    return { status: 503, json: { status: 'store unavailable', store: store.backend } };
  }
}

/**
 * Whether a token may read /metrics when `admin.metricsAuth` is on: it holds the admin right,
 * on `*` or on some repository (there is no narrower `metrics` right).
 */
export function mayScrapeMetrics(identity: Identity): boolean {
  return identity.record.rights.includes('admin') || effectiveRights(identity, ALL_REPOSITORIES).includes('admin');
}
