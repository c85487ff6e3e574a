import type { Problem } from '../http/problem.js';
import type { TokenBudget } from '../limits/token-budget.js';
import { RIGHTS, type Right } from '../tokens/record.js';
import type { Identity } from './authorize.js';
import { DENIALS, type Denial, type DenyReason, type Outcome } from './decision.js';

/**
 * `credential` label values: what the request authenticated with (docs/workload-identity.md), or
 * `none` when it carried no credential (a public route, a missing token).
 */
export type CredentialLabel = 'token' | 'jwt' | 'mtls' | 'none';

/** Who an allowed request runs as: sent upstream as x-tollgate-* headers. */
export interface ForwardIdentity {
  tokenId: string;
  repository: string;
  user: string | null;
  right: string;
  /** A workload identity's issuer (a JWT's iss, a client certificate's issuer): for the access log. */
  issuer?: string | undefined;
}

/**
 * What the access log adds for a workload identity: the user it acted as and who vouched for it
 * (the JWT issuer, the client certificate's issuer), never the credential itself. Nothing for a token.
 */
export function workloadFields(identity: ForwardIdentity | undefined): { user?: string; issuer?: string } {
  if (identity?.issuer === undefined) return NO_FIELDS;
  return { user: identity.user ?? undefined, issuer: identity.issuer };
}

const NO_FIELDS = Object.freeze({});

/** Seconds a client should wait before retrying after a 503 (a store outage, issuer keys out of reach). */
const RETRY_AFTER: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': '1' });

/** The fixed headers of each refusal that has any: the RFC 6750 §3 challenge, or Retry-After on a 503. */
const FIXED_HEADERS = new Map<DenyReason, Readonly<Record<string, string>>>();
for (const [reason, denial] of Object.entries(DENIALS) as Array<[DenyReason, Denial]>) {
  if (denial.outcome === 'unavailable') FIXED_HEADERS.set(reason, RETRY_AFTER);
  else if (denial.challenge !== undefined) FIXED_HEADERS.set(reason, Object.freeze({ 'www-authenticate': denial.challenge }));
}

/**
 * Every header a refusal carries beside its problem body, by one rule on every port: the fixed
 * ones of its reason (challenge, Retry-After), with what the step adds (the RateLimit fields and
 * Retry-After of a limited token) laid over them.
 */
export function refusalHeaders(reason: DenyReason, extra?: Readonly<Record<string, string>>): Readonly<Record<string, string>> | undefined {
  const fixed = FIXED_HEADERS.get(reason);
  if (extra === undefined) return fixed;
  return Object.assign(Object.create(null) as Record<string, string>, fixed, extra);
}

/** The `right` label: a right, or `none` when the request was refused before one was known. */
export type RightLabel = Right | 'none';

/**
 * A request that may pass: who it runs as and what is forwarded for it (docs/data-plane.md).
 * The exchange carrying it holds `limited`'s stream slot from here and gives it back once.
 */
export interface Allowed {
  readonly allowed: true;
  readonly right: Right;
  /** The checked target (with its query, less a query token) that is forwarded. */
  readonly path: string;
  /** Who it runs as (x-tollgate-* fields); undefined on a public route. */
  readonly identity: ForwardIdentity | undefined;
  /** The token as resolved, for the registry of open exchanges; undefined on a public route. */
  readonly token: Identity | undefined;
  /** The token's limits, when it has any, with one stream slot held for this request. */
  readonly limited: TokenBudget | undefined;
}

/** A request that may not pass: everything any port needs to answer it, and nothing to build. */
export interface Refused {
  readonly allowed: false;
  readonly reason: DenyReason;
  /** The right it asked for, once known. */
  readonly right: RightLabel;
  readonly status: number;
  readonly outcome: Outcome;
  /** Its problem body (RFC 9457), without the request id each answer adds. */
  readonly problem: Readonly<Problem>;
  /** Every header of the refusal (refusalHeaders); undefined: none. */
  readonly headers: Readonly<Record<string, string>> | undefined;
}

/** What the decision step returns for a request (like Envoy ext_authz's CheckResponse): rendered by each port. */
export type Verdict = Allowed | Refused;

function buildRefusal(reason: DenyReason, right: RightLabel, headers: Readonly<Record<string, string>> | undefined): Refused {
  const denial = DENIALS[reason];
  const problem = Object.freeze({ status: denial.status, type: denial.type, title: denial.title, detail: denial.detail });
  return Object.freeze({ allowed: false, reason, right, status: denial.status, outcome: denial.outcome, problem, headers });
}

/** Refusals without extra headers, one frozen value per reason and right: refusing allocates nothing. */
const REFUSALS = Object.create(null) as Record<DenyReason, Record<RightLabel, Refused>>;
for (const reason of Object.keys(DENIALS) as DenyReason[]) {
  const byRight = Object.create(null) as Record<RightLabel, Refused>;
  for (const right of [...RIGHTS, 'none'] as const) byRight[right] = buildRefusal(reason, right, refusalHeaders(reason));
  REFUSALS[reason] = byRight;
}

/** The refusal for `reason`, with the headers the step adds (a limited token's) merged by refusalHeaders' rule. */
export function refusal(reason: DenyReason, right: RightLabel = 'none', extra?: Readonly<Record<string, string>>): Refused {
  if (extra !== undefined) return buildRefusal(reason, right, refusalHeaders(reason, extra));
  return REFUSALS[reason][right];
}
