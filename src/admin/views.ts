import {
  type HistoryEntry,
  iso,
  type OrganizationRecord,
  type RepositoryRecord,
  type TeamRecord,
  type TokenRecord,
  type UserRecord,
} from '../tokens/record.js';
import * as views from '../tokens/views.js';
import type { OrganizationView, RepositoryView, TeamView, TokenView, UserView } from './schemas.js';

// Records as the API shows them (made in src/tokens/views.ts, where webhooks take them too), typed
// by the schemas that describe them in the OpenAPI document: a view that lacks a field of its
// schema, or holds one of another type, fails to compile here.

/** A token: ISO times, the status derived at `now`, and never the hash. */
export const viewOfToken: (record: TokenRecord, now: number) => TokenView = views.viewOfToken;

/** A user with their teams and the grants their personal tokens meet (own ∪ teams'). */
export const viewOfUser: (user: UserRecord, teams: readonly TeamRecord[]) => UserView = views.viewOfUser;

export const viewOfTeam: (team: TeamRecord) => TeamView = views.viewOfTeam;

export const viewOfRepository: (repo: RepositoryRecord) => RepositoryView = views.viewOfRepository;

export const viewOfOrganization: (org: OrganizationRecord) => OrganizationView = views.viewOfOrganization;

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
