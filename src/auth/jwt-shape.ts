/** A JWS in compact form (RFC 7515 §7.1): three base64url parts, the first a JSON object (`ey`). */
const COMPACT_JWS = /^ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The longest JWT looked at: a projected service-account token is about 1 kB; beyond 8 kB is no bearer. */
const MAX_JWT_LENGTH = 8192;

/**
 * True when a bearer is shaped like a JWT, so it is verified as one instead of looked up as a
 * Tollgate secret (whose `tg` prefix and base62 body never hold a dot).
 */
export const looksLikeJwt = (bearer: string): boolean => bearer.length <= MAX_JWT_LENGTH && bearer.charCodeAt(0) === 101 && COMPACT_JWS.test(bearer);
