import {
  combineGrants,
  type HistoryEntry,
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
} from '../tokens/record.js';
import type { OrganizationView, RepositoryView, TeamView, TokenView, UserView } from './schemas.js';

// Records as the API shows them, typed by the schemas that describe them in the OpenAPI document.

/** A token: ISO times, the status derived at `now`, and never the hash. */
export const viewOfToken = (record: TokenRecord, now: number): TokenView => ({
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
export const viewOfUser = (user: UserRecord, teams: readonly TeamRecord[]): UserView => ({
  name: user.name,
  grants: user.grants,
  teams: teams.map((team) => team.name).sort(),
  effectiveGrants: { ...combineGrants(user.grants, teams) },
  disabled: user.disabled === true,
  createdAt: iso(user.createdAt),
  updatedAt: iso(user.updatedAt),
});

export const viewOfTeam = (team: TeamRecord): TeamView => ({
  name: team.name,
  organization: organizationOf(team),
  members: team.members,
  grants: team.grants,
  createdAt: iso(team.createdAt),
  updatedAt: iso(team.updatedAt),
});

export const viewOfRepository = (repo: RepositoryRecord): RepositoryView => ({
  name: repo.name,
  createdAt: iso(repo.createdAt),
  createdBy: repo.createdBy,
  limits: repo.limits ?? null,
  organization: organizationOf(repo),
});

export const viewOfOrganization = (org: OrganizationRecord): OrganizationView => ({
  name: org.name,
  displayName: org.displayName,
  createdAt: iso(org.createdAt),
  createdBy: org.createdBy,
  updatedAt: iso(org.updatedAt),
});

/** Whether a history change changed nothing: `null -> null` (a creation's empty user, expiry or parent). */
const unchanged = (change: { from: unknown; to: unknown }) => JSON.stringify(change.from) === JSON.stringify(change.to);

/**
 * History as the API shows it: ISO times, and only the fields that changed. A creation records
 * every field as `null -> value`; the empty ones (`user` of a repository token, no expiry, no
 * parent) would read as `null -> null` noise on the page and in the CLI.
 */
export const viewOfHistory = (entries: readonly HistoryEntry[]) => ({
  items: entries.map((entry) => ({
    ...entry,
    at: iso(entry.at),
    changes: Object.fromEntries(Object.entries(entry.changes).filter(([, change]) => !unchanged(change))),
  })),
});
