import type { Right } from '../tokens/record.js';

/** Why a request is refused; one table below turns each into a status and a problem body. */
export type DenyReason =
  | 'missing_token'
  | 'duplicate_authorization'
  | 'invalid_token'
  | 'bad_target'
  | 'uri_too_long'
  | 'too_many_headers'
  | 'expectation_failed'
  | 'no_route'
  | 'method_not_allowed'
  | 'insufficient_scope'
  | 'store_unavailable';

/** SPEC §8 `outcome` label values. */
export type Outcome = 'allowed' | 'unauthenticated' | 'forbidden' | 'not_found' | 'unavailable' | 'upstream_error';

export interface Denial {
  status: number;
  /** Stable problem type (RFC 9457 §3.1.1), listed in the README. */
  type: string;
  title: string;
  detail: string;
  outcome: Outcome;
  /** RFC 6750 §3 challenge, for 401 and 403. */
  challenge?: string;
}

const REALM = 'Bearer realm="tollgate"';

export const DENIALS: Readonly<Record<DenyReason, Denial>> = {
  missing_token: {
    status: 401,
    type: '/problems/missing-token',
    title: 'Authentication required',
    detail: 'Send Authorization: Bearer <token>.',
    outcome: 'unauthenticated',
    challenge: REALM,
  },
  duplicate_authorization: {
    status: 400,
    type: '/problems/duplicate-authorization',
    title: 'More than one Authorization header',
    detail: 'Send exactly one Authorization header.',
    outcome: 'unauthenticated',
  },
  invalid_token: {
    status: 401,
    type: '/problems/invalid-token',
    title: 'Invalid token',
    detail: 'The token is malformed, unknown, revoked or expired.',
    outcome: 'unauthenticated',
    challenge: `${REALM}, error="invalid_token"`,
  },
  bad_target: {
    status: 400,
    type: '/problems/bad-path',
    title: 'Request target refused',
    detail: 'Paths with dot segments, encoded slashes or backslashes, NUL, or a foreign form are refused.',
    outcome: 'not_found',
  },
  uri_too_long: {
    status: 414,
    type: '/problems/uri-too-long',
    title: 'Request target too long',
    detail: 'Request targets are limited to 8192 characters.',
    outcome: 'not_found',
  },
  too_many_headers: {
    status: 431,
    type: '/problems/too-many-headers',
    title: 'Too many header fields',
    detail: 'Requests are limited to 200 header fields.',
    outcome: 'not_found',
  },
  expectation_failed: {
    status: 417,
    type: '/problems/expectation-failed',
    title: 'Expectation failed',
    detail: 'The only expectation supported is Expect: 100-continue.',
    outcome: 'not_found',
  },
  no_route: {
    status: 404,
    type: '/problems/no-route',
    title: 'No route',
    detail: 'No configured route matches this path.',
    outcome: 'not_found',
  },
  method_not_allowed: {
    status: 405,
    type: '/problems/method-not-allowed',
    title: 'Method not allowed',
    detail: 'This method maps to no right on this route.',
    outcome: 'forbidden',
  },
  insufficient_scope: {
    status: 403,
    type: '/problems/insufficient-scope',
    title: 'Insufficient scope',
    detail: 'The token does not hold the right this request needs on this repository.',
    outcome: 'forbidden',
    challenge: `${REALM}, error="insufficient_scope"`,
  },
  store_unavailable: {
    status: 503,
    type: '/problems/store-unavailable',
    title: 'Token store unavailable',
    detail: 'The token could not be checked; retry shortly.',
    outcome: 'unavailable',
  },
};

export type Decision =
  | { readonly allowed: true; readonly repository: string; readonly right: Right }
  | { readonly allowed: false; readonly reason: DenyReason };

const denials = Object.fromEntries(
  Object.keys(DENIALS).map((reason) => [reason, Object.freeze({ allowed: false, reason })]),
) as unknown as Readonly<Record<DenyReason, Decision>>;

/** The shared, frozen refusal for a reason (refusing allocates nothing). */
export function deny(reason: DenyReason): Decision {
  return denials[reason];
}
