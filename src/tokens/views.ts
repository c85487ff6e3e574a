import {
  combineGrants,
  isLent,
  iso,
  type OrganizationRecord,
  organizationOf,
  type RepositoryRecord,
  shownStatusAt,
  type TeamRecord,
  type TokenRecord,
  tokenOrganization,
  type UserRecord,
} from './record.js';

// Records as the admin API shows them and webhooks send them (docs/admin-api.md, docs/webhooks.md):
// ISO times, derived fields, never a hash. src/admin/views.ts types each by its OpenAPI schema.

/** A token: ISO times, the status derived at `now`, and never the hash. */
export const viewOfToken = (record: TokenRecord, now: number) => ({
  id: record.id,
  kind: record.kind,
  name: record.name,
  repository: record.repository,
  user: record.user,
  rights: record.rights,
  status: shownStatusAt(record, now),
  prefix: record.prefix,
  createdAt: iso(record.createdAt),
  createdBy: record.createdBy,
  updatedAt: iso(record.updatedAt),
  expiresAt: iso(record.expiresAt),
  revokedAt: iso(record.revokedAt),
  lastUsedAt: iso(record.lastUsedAt),
  lastUsedIp: record.lastUsedIp,
  lastUsedUserAgent: record.lastUsedUserAgent,
  lent: isLent(record),
  parentId: record.parentId,
  limits: record.limits ?? null,
  rolledTo: record.rolledTo ?? null,
  selfRotate: record.selfRotate === true,
  allowFrom: record.allowFrom ?? [],
  labels: record.labels ?? {},
  organization: tokenOrganization(record),
});

/** A user with their teams and the grants their personal tokens meet (own ∪ teams'). */
export const viewOfUser = (user: UserRecord, teams: readonly TeamRecord[]) => ({
  name: user.name,
  grants: user.grants,
  teams: teams.map((team) => team.name).sort(),
  effectiveGrants: { ...combineGrants(user.grants, teams) },
  disabled: user.disabled === true,
  createdAt: iso(user.createdAt),
  updatedAt: iso(user.updatedAt),
});

export const viewOfTeam = (team: TeamRecord) => ({
  name: team.name,
  organization: organizationOf(team),
  members: team.members,
  grants: team.grants,
  createdAt: iso(team.createdAt),
  updatedAt: iso(team.updatedAt),
});

export const viewOfRepository = (repo: RepositoryRecord) => ({
  name: repo.name,
  createdAt: iso(repo.createdAt),
  createdBy: repo.createdBy,
  limits: repo.limits ?? null,
  organization: organizationOf(repo),
});

export const viewOfOrganization = (org: OrganizationRecord) => ({
  name: org.name,
  displayName: org.displayName,
  createdAt: iso(org.createdAt),
  createdBy: org.createdBy,
  updatedAt: iso(org.updatedAt),
});
