/**
 * Every problem either port answers with, in one registry: a stable code, its status, its
 * problem type (RFC 9457 `type`, listed in docs/reference/problems.md; clients switch on it) and its title.
 * The proxy's refusals (auth/decision.ts), its upstream faults (proxy/upstream-fault.ts) and the
 * admin API's errors (admin/errors.ts) all take theirs from here, so one type never means two
 * statuses and a new problem is added in one place. The `detail` is said where the problem is
 * found; the headers a problem needs (the RFC 6750 challenge, Retry-After, Allow) are added there.
 */
export interface ProblemKind {
  status: number;
  type: string;
  title: string;
}

export const PROBLEMS = {
  // The proxy port's refusals, in pipeline order.
  uri_too_long: { status: 414, type: '/problems/uri-too-long', title: 'Request target too long' },
  too_many_headers: { status: 431, type: '/problems/too-many-headers', title: 'Too many header fields' },
  expectation_failed: { status: 417, type: '/problems/expectation-failed', title: 'Expectation failed' },
  bad_target: { status: 400, type: '/problems/bad-path', title: 'Request target refused' },
  ambiguous_path: { status: 400, type: '/problems/ambiguous-path', title: 'Path spells a route another way' },
  missing_token: { status: 401, type: '/problems/missing-token', title: 'Authentication required' },
  ambiguous_header: { status: 400, type: '/problems/ambiguous-header', title: 'Header field sent under two spellings' },
  duplicate_authorization: { status: 400, type: '/problems/duplicate-authorization', title: 'More than one Authorization header' },
  invalid_token: { status: 401, type: '/problems/invalid-token', title: 'Invalid token' },
  token_in_two_places: { status: 400, type: '/problems/token-in-two-places', title: 'Token sent in more than one place' },
  unsupported_upgrade: { status: 400, type: '/problems/unsupported-upgrade', title: 'Upgrade not supported' },
  store_unavailable: { status: 503, type: '/problems/store-unavailable', title: 'Token store unavailable' },
  no_route: { status: 404, type: '/problems/no-route', title: 'No route' },
  method_not_allowed: { status: 405, type: '/problems/method-not-allowed', title: 'Method not allowed' },
  insufficient_scope: { status: 403, type: '/problems/insufficient-scope', title: 'Insufficient scope' },
  address_not_allowed: { status: 403, type: '/problems/address-not-allowed', title: 'Client address not allowed' },
  // A token's limits (the proxy's rate refusal shares rate_limited below with the admin port).
  quota_exceeded: { status: 429, type: '/problems/quota-exceeded', title: 'Quota exceeded' },
  too_many_streams: { status: 429, type: '/problems/too-many-streams', title: 'Too many open streams' },
  // The decision port's own: the method it was asked about is not one.
  bad_method: { status: 400, type: '/problems/bad-method', title: 'Request method refused' },
  // The upstream's faults, after a request was allowed.
  upstream_timeout: { status: 504, type: '/problems/upstream-timeout', title: 'Upstream timed out' },
  upstream_unreachable: { status: 502, type: '/problems/upstream-unreachable', title: 'Upstream refused the connection' },
  upstream_reset: { status: 502, type: '/problems/upstream-reset', title: 'Upstream closed the connection' },
  upstream_error: { status: 502, type: '/problems/upstream-error', title: 'Upstream failed' },
  // The admin port's own.
  invalid_request: { status: 400, type: '/problems/invalid-request', title: 'Invalid request' },
  invalid_json: { status: 400, type: '/problems/invalid-json', title: 'Invalid JSON' },
  json_too_deep: { status: 400, type: '/problems/json-too-deep', title: 'JSON nested too deep' },
  unsupported_media_type: { status: 415, type: '/problems/unsupported-media-type', title: 'Unsupported media type' },
  body_too_large: { status: 413, type: '/problems/body-too-large', title: 'Body too large' },
  not_found: { status: 404, type: '/problems/not-found', title: 'Not found' },
  conflict: { status: 409, type: '/problems/conflict', title: 'Conflict' },
  rate_limited: { status: 429, type: '/problems/rate-limited', title: 'Too many requests' },
  internal: { status: 500, type: '/problems/internal', title: 'Internal error' },
} as const satisfies Record<string, ProblemKind>;

export type ProblemCode = keyof typeof PROBLEMS;
