import { isExpired } from '../tokens/record.js';
import { hashSecret, looksLikeSecret, parseSecret } from '../tokens/secret.js';
import type { Identity } from './authorize.js';
import { BearerFault, readBearer } from './bearer.js';
import type { DenyReason } from './decision.js';
import { type LookupObserver, type Resolution, type TokenCache, UNAVAILABLE, UNKNOWN } from './token-cache.js';

export type Authentication = Identity | DenyReason;

const FAULTS: Record<BearerFault, DenyReason> = {
  [BearerFault.Missing]: 'missing_token',
  [BearerFault.Duplicate]: 'duplicate_authorization',
  [BearerFault.Malformed]: 'invalid_token',
};

function settle(resolution: Resolution, now: number): Authentication {
  if (resolution === UNAVAILABLE) return 'store_unavailable';
  if (resolution === UNKNOWN) return 'invalid_token';
  if (resolution.record.status !== 'active' || isExpired(resolution.record, now)) return 'invalid_token';
  if (resolution.isUserDisabled === true) return 'user_disabled';
  return resolution;
}

/**
 * Finds the active token a request carries, or why there is none. Answers synchronously when
 * the cache can (the hot path allocates no promise), else returns a promise. `lookups` replaces
 * the cache's own observer for hits, misses and lookup times (the admin API passes UNOBSERVED).
 */
export function authenticate(
  rawHeaders: readonly string[],
  cache: TokenCache,
  now: number,
  lookups?: LookupObserver,
): Authentication | Promise<Authentication> {
  return authenticateBearer(readBearer(rawHeaders), cache, now, lookups);
}

/** As `authenticate`, for a secret already found (in a header, a query parameter, a subprotocol). */
export function authenticateBearer(
  bearer: string | BearerFault,
  cache: TokenCache,
  now: number,
  lookups?: LookupObserver,
): Authentication | Promise<Authentication> {
  if (typeof bearer !== 'string') return FAULTS[bearer];
  if (!looksLikeSecret(bearer)) return 'invalid_token';
  const hash = hashSecret(bearer);
  const cached = cache.cached(hash, now, lookups);
  if (cached !== undefined) return settle(cached, now);
  // The checksum before any store lookup: garbage never costs I/O or a negative-cache slot.
  if (parseSecret(bearer) === undefined) return 'invalid_token';
  return cache.resolve(hash, lookups).then((resolution) => settle(resolution, now));
}
