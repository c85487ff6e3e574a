import type { HistoryEntry, OrganizationRecord, RepositoryRecord, TeamRecord, UserRecord } from '../../tokens/record.js';
import type { OutEvent } from '../event-log.js';

/**
 * The directory: organizations, repositories, users and teams, whose grants bound what personal
 * tokens hold.
 */
export interface Directory extends OrganizationStore {
  createRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean>;
  /** Replaces an existing repository (its default limits); false when there is none. */
  putRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean>;
  getRepository(name: string): Promise<RepositoryRecord | undefined>;
  listRepositories(): Promise<RepositoryRecord[]>;
  deleteRepository(name: string, events?: readonly OutEvent[]): Promise<boolean>;

  putUser(record: UserRecord, events?: readonly OutEvent[]): Promise<void>;
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  deleteUser(name: string, events?: readonly OutEvent[]): Promise<boolean>;

  /** Writes a team and appends to its history. */
  putTeam(record: TeamRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<void>;
  getTeam(name: string): Promise<TeamRecord | undefined>;
  listTeams(): Promise<TeamRecord[]>;
  /** Removes a team, keeping its history; false when it did not exist. */
  deleteTeam(name: string, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean>;
  teamHistory(name: string): Promise<HistoryEntry[]>;
  /** The teams `user` is a member of (read on a cache miss of a personal token). */
  teamsOf(user: string): Promise<TeamRecord[]>;
}

/**
 * Organizations (docs/organizations.md): tenants above repositories. `default` exists in every
 * store from the start (read back as defaultOrganization() until someone edits it), and a
 * repository without `organization` belongs to it, so a store written before organizations
 * reads as before. createRepository() refuses (false) a repository whose organization is gone.
 */
export interface OrganizationStore {
  /** Adds an organization; false when the name is taken (`default` always is). */
  createOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean>;
  /** Replaces an existing organization (its display name); false when there is none. */
  putOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean>;
  getOrganization(name: string): Promise<OrganizationRecord | undefined>;
  /** Every organization, `default` included. */
  listOrganizations(): Promise<OrganizationRecord[]>;
  /** Removes an organization only while no repository belongs to it, in one atomic step; `default` is never removed. */
  deleteOrganization(name: string, events?: readonly OutEvent[]): Promise<OrganizationDeleteOutcome>;
}

export type OrganizationDeleteOutcome = 'deleted' | 'missing' | 'not-empty';
