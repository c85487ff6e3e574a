import { PROBLEMS } from '../http/problems.js';
import type { Right } from '../tokens/record.js';

/** Why a request is refused; one table below turns each into a status and a problem body. */
export type DenyReason =
  | 'missing_token'
  | 'duplicate_authorization'
  /** An underscore twin of a field a route reads for its decision (`X_Repository`). */
  | 'ambiguous_header'
  | 'invalid_token'
  /** The user a token or workload identity acts as is disabled. */
  | 'user_disabled'
  /** Workload JWTs (docs/workload-identity.md): each an `invalid_token` with its own detail. */
  | 'jwt_unknown_issuer'
  | 'jwt_bad_signature'
  | 'jwt_wrong_audience'
  | 'jwt_expired'
  | 'jwt_unmapped_user'
  /** The issuer's keys could not be fetched and none are held: fail closed. */
  | 'jwt_keys_unavailable'
  /** A client certificate that maps to no user. */
  | 'certificate_unmapped_user'
  | 'token_in_two_places'
  | 'unsupported_upgrade'
  | 'bad_target'
  /** A segment spells a route's literal segment another way (case, encoding, `;`, `//`). */
  | 'ambiguous_path'
  | 'uri_too_long'
  | 'too_many_headers'
  | 'expectation_failed'
  | 'no_route'
  | 'method_not_allowed'
  | 'insufficient_scope'
  /** The token's allowFrom does not include the client's address. */
  | 'address_not_allowed'
  | 'store_unavailable'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'too_many_streams'
  /** Decision port: the forwarded method is missing, repeated, empty or not an HTTP token. */
  | 'bad_method';

/** The `outcome` label values (docs/operations.md). */
export type Outcome = 'allowed' | 'unauthenticated' | 'forbidden' | 'not_found' | 'unavailable' | 'upstream_error';

/** A refusal: its problem (status, type, title from http/problems.ts), detail and metric outcome. */
export interface Denial {
  status: number;
  type: string;
  title: string;
  detail: string;
  outcome: Outcome;
  /** RFC 6750 §3 challenge, for 401 and 403. */
  challenge?: string;
}

const REALM = 'Bearer realm="tollgate"';

/** A 401 invalid_token (RFC 6750 §3.1) whose detail says which check failed, never the credential. */
const invalidToken = (detail: string): Denial => ({
  ...PROBLEMS.invalid_token,
  detail,
  outcome: 'unauthenticated',
  challenge: `${REALM}, error="invalid_token"`,
});

export const DENIALS: Readonly<Record<DenyReason, Denial>> = {
  missing_token: {
    ...PROBLEMS.missing_token,
    detail: 'Send Authorization: Bearer <token>.',
    outcome: 'unauthenticated',
    challenge: REALM,
  },
  duplicate_authorization: {
    ...PROBLEMS.duplicate_authorization,
    detail: 'Send exactly one Authorization header.',
    outcome: 'unauthenticated',
  },
  ambiguous_header: {
    ...PROBLEMS.ambiguous_header,
    detail: 'A field this route reads was also sent with _ for - (X_Repository), which some servers read as the same field.',
    outcome: 'forbidden',
  },
  invalid_token: {
    ...PROBLEMS.invalid_token,
    detail: 'The token is malformed, unknown, revoked or expired.',
    outcome: 'unauthenticated',
    challenge: `${REALM}, error="invalid_token"`,
  },
  user_disabled: invalidToken('The user this credential acts as is disabled.'),
  jwt_unknown_issuer: invalidToken('The JWT names an issuer (iss) that is not configured, or carries none.'),
  jwt_bad_signature: invalidToken('The JWT signature does not verify with any key of its issuer (or uses an algorithm not allowed).'),
  jwt_wrong_audience: invalidToken('The JWT is not meant for this service: no aud of it is a configured audience.'),
  jwt_expired: invalidToken('The JWT is expired (exp) or not yet valid (nbf).'),
  jwt_unmapped_user: invalidToken("The JWT's claims map to no existing user."),
  jwt_keys_unavailable: {
    ...PROBLEMS.store_unavailable,
    detail: "The JWT issuer's keys could not be fetched; retry shortly.",
    outcome: 'unavailable',
  },
  certificate_unmapped_user: invalidToken('The client certificate maps to no existing user.'),
  token_in_two_places: {
    ...PROBLEMS.token_in_two_places,
    detail: 'Send the token in one place only: the Authorization header, the access_token parameter or the WebSocket subprotocol.',
    outcome: 'unauthenticated',
  },
  unsupported_upgrade: {
    ...PROBLEMS.unsupported_upgrade,
    detail: 'The only upgrade supported is a GET with Upgrade: websocket.',
    outcome: 'not_found',
  },
  bad_target: {
    ...PROBLEMS.bad_target,
    detail:
      'The target must be origin-form (RFC 9112 §3.2.1): no raw #, no character outside RFC 3986, no dot segments, encoded slashes or backslashes, or NUL.',
    outcome: 'not_found',
  },
  ambiguous_path: {
    ...PROBLEMS.ambiguous_path,
    detail:
      "A path segment spells a route's literal segment another way (case, percent-encoding, a ; parameter, an empty segment); send it as the route writes it.",
    outcome: 'not_found',
  },
  uri_too_long: {
    ...PROBLEMS.uri_too_long,
    detail: 'Request targets are limited to 8192 characters.',
    outcome: 'not_found',
  },
  too_many_headers: {
    ...PROBLEMS.too_many_headers,
    detail: 'Requests are limited to 200 header fields.',
    outcome: 'not_found',
  },
  expectation_failed: {
    ...PROBLEMS.expectation_failed,
    detail: 'The only expectation supported is Expect: 100-continue.',
    outcome: 'not_found',
  },
  no_route: {
    ...PROBLEMS.no_route,
    detail: 'No configured route matches this path.',
    outcome: 'not_found',
  },
  method_not_allowed: {
    ...PROBLEMS.method_not_allowed,
    detail: 'This method maps to no right on this route.',
    outcome: 'forbidden',
  },
  address_not_allowed: {
    ...PROBLEMS.address_not_allowed,
    detail: 'The token may be used only from the addresses its allowFrom lists; this request came from another.',
    outcome: 'forbidden',
  },
  insufficient_scope: {
    ...PROBLEMS.insufficient_scope,
    detail: 'The token does not hold the right this request needs on this repository.',
    outcome: 'forbidden',
    challenge: `${REALM}, error="insufficient_scope"`,
  },
  store_unavailable: {
    ...PROBLEMS.store_unavailable,
    detail: 'The token could not be checked; retry shortly.',
    outcome: 'unavailable',
  },
  // A token's limits (docs/limits.md): counted as forbidden, and by limit in limited_total.
  rate_limited: {
    ...PROBLEMS.rate_limited,
    detail: "The token's request rate is spent; retry after the time in Retry-After.",
    outcome: 'forbidden',
  },
  quota_exceeded: {
    ...PROBLEMS.quota_exceeded,
    detail: "The token's byte quota for this window is spent; retry after the time in Retry-After.",
    outcome: 'forbidden',
  },
  too_many_streams: {
    ...PROBLEMS.too_many_streams,
    detail: 'The token has as many exchanges open as its limit allows; retry when one ends.',
    outcome: 'forbidden',
  },
  bad_method: {
    ...PROBLEMS.bad_method,
    detail: 'The method asked about must be one HTTP method token, sent once.',
    outcome: 'not_found',
  },
};

export type Decision =
  | { readonly allowed: true; readonly repository: string; readonly right: Right }
  | { readonly allowed: false; readonly reason: DenyReason };

const denials = Object.fromEntries(Object.keys(DENIALS).map((reason) => [reason, Object.freeze({ allowed: false, reason })])) as unknown as Readonly<
  Record<DenyReason, Decision>
>;

/** The shared, frozen refusal for a reason (refusing allocates nothing). */
export function deny(reason: DenyReason): Decision {
  return denials[reason];
}
