import type { OutEvent } from '../event-log.js';
import type { HistoryEntry, RepositoryRecord, TeamRecord, UserRecord } from '../../tokens/record.js';

/** The directory: repositories, users and teams, whose grants bound what personal tokens hold. */
export interface Directory {
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
