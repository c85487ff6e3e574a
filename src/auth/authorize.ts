import type { LineMaker } from '../limits/limiter.js';
import { ALL_REPOSITORIES, type Grants, isExpired, organizationScope, type Right, rightsIn, scopedOrganization, type TokenRecord } from '../tokens/record.js';
import { type Decision, deny } from './decision.js';

/** A resolved token: the record, plus for personal tokens its user's grants when it was read. */
export interface Identity {
  readonly record: TokenRecord;
  /** The user's current grants; null for repository tokens. */
  readonly grants: Grants | null;
  /**
   * A lent token's makers, nearest first, up to the first independent one, read with it: every
   * request it makes spends from their budgets too. Absent for an independent token.
   */
  readonly line?: readonly LineMaker[];
  /**
   * When a lent token's line ends, as read with it: 0 when a maker was revoked or gone by then,
   * else the earliest expiry among its makers. A loan is served only while every maker is, even
   * when the revoke's cascade to the loan did not happen (a store fault between its writes, a
   * store from before lines were revoked). Absent: no maker ends it.
   */
  readonly lineEndsAt?: number;
  /** The user the token (or workload identity) acts as is disabled: everything it asks is refused. */
  readonly isUserDisabled?: boolean;
  /**
   * A workload identity (docs/workload-identity.md) rather than a Tollgate token: a verified JWT
   * or a client certificate standing as a personal token on `*` of its mapped user.
   */
  readonly workload?: WorkloadFacts;
  /**
   * Where the token's scope or grants name an organization (`@acme`): those organizations and
   * the organization of each of their repositories, read with the token on a cache miss and
   * dropped with it (docs/organizations.md). Absent: it names none.
   */
  readonly organizations?: OrganizationReach;
}

/** The organizations an identity names, and which repository belongs to which of them. */
export interface OrganizationReach {
  readonly named: ReadonlySet<string>;
  /** repository -> organization, for the repositories of the named organizations only. */
  readonly repositories: ReadonlyMap<string, string>;
}

/** What a workload identity was verified as: shown in the access log, never the credential itself. */
export interface WorkloadFacts {
  readonly credential: 'jwt' | 'mtls';
  /** The JWT's `iss`, or the client certificate's issuer name. */
  readonly issuer: string;
  /** Teams named by the credential's own claim (existing teams only), on top of the user's. */
  readonly teams: readonly string[];
}

/**
 * True when a token scoped to `scope` reaches `repository` (a repository, `*` or `@org`): `*`
 * reaches all, `@acme` every repository `reach` places in acme.
 */
export function covers(scope: string, repository: string, reach?: OrganizationReach): boolean {
  if (scope === ALL_REPOSITORIES || scope === repository) return true;
  const organization = scopedOrganization(scope);
  return organization !== undefined && reach?.repositories.get(repository) === organization;
}

/**
 * Decides whether `identity` may use `right` on `repository` (undefined: the route names none,
 * so the token's own repository is meant). Personal tokens get the intersection of their rights
 * and their user's grants (docs/tokens.md).
 */
export function authorize(identity: Identity, right: Right, repository: string | undefined, now: number): Decision {
  const record = identity.record;
  if (record.status !== 'active' || isExpired(record, now)) return deny('invalid_token');
  if (identity.lineEndsAt !== undefined && identity.lineEndsAt <= now) return deny('invalid_token');
  if (identity.isUserDisabled === true) return deny('user_disabled');
  const target = repository ?? record.repository;
  if (!covers(record.repository, target, identity.organizations)) return deny('insufficient_scope');
  if (!record.rights.includes(right)) return deny('insufficient_scope');
  if (record.kind === 'personal' && !isGranted(identity.grants ?? {}, target, right, identity.organizations)) return deny('insufficient_scope');
  return { allowed: true, repository: target, right };
}

/** True when the grants give `right` on `repository`, directly, through its organization (`@acme`) or through `*`. */
export function isGranted(grants: Grants, repository: string, right: Right, reach?: OrganizationReach): boolean {
  const organization = reach?.repositories.get(repository);
  return (
    (rightsIn(grants, repository)?.includes(right) ?? false) ||
    (organization !== undefined && (rightsIn(grants, organizationScope(organization))?.includes(right) ?? false)) ||
    (rightsIn(grants, ALL_REPOSITORIES)?.includes(right) ?? false)
  );
}

/** The rights a token really holds on a repository right now. */
export function effectiveRights(identity: Identity, repository: string): Right[] {
  const record = identity.record;
  if (!covers(record.repository, repository, identity.organizations)) return [];
  if (record.kind !== 'personal') return [...record.rights];
  return record.rights.filter((right) => isGranted(identity.grants ?? {}, repository, right, identity.organizations));
}
