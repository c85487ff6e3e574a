import {
  DEFAULT_ORGANIZATION,
  defaultOrganization,
  type HistoryEntry,
  type OrganizationRecord,
  organizationOf,
  type RepositoryRecord,
  type TeamRecord,
  type UserRecord,
} from '../../tokens/record.js';
import type { OutEvent } from '../event-log.js';
import type { Directory, OrganizationDeleteOutcome } from '../token-store.js';
import type { MemoryState } from './state.js';
import { copy, type MemoryWrites, withEvents } from './writes.js';

/** The directory in this process: organizations, repositories, users and teams in the shared model. */
export class MemoryDirectory implements Directory {
  private readonly state: MemoryState;

  constructor(private readonly writes: MemoryWrites) {
    this.state = writes.state;
  }

  putTeam(record: TeamRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<void> {
    return this.writes.exclusive(() => this.writes.commit({ op: 'team', record, entry, ...withEvents(events) }));
  }

  async getTeam(name: string): Promise<TeamRecord | undefined> {
    const record = this.state.teams.get(name);
    return record && copy(record);
  }

  async listTeams(): Promise<TeamRecord[]> {
    return [...this.state.teams.values()].map(copy);
  }

  deleteTeam(name: string, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean> {
    return this.writes.exclusive(async () => {
      if (!this.state.teams.has(name)) return false;
      await this.writes.commit({ op: 'deleteTeam', name, entry, ...withEvents(events) });
      return true;
    });
  }

  async teamHistory(name: string): Promise<HistoryEntry[]> {
    return copy(this.state.teamHistories.get(name) ?? []);
  }

  async teamsOf(user: string): Promise<TeamRecord[]> {
    return [...this.state.teams.values()].filter((team) => team.members.includes(user)).map(copy);
  }

  createRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return this.writes.exclusive(async () => {
      if (this.state.repositories.has(record.name) || !this.hasOrganization(organizationOf(record))) return false;
      await this.writes.commit({ op: 'repository', record, ...withEvents(events) });
      return true;
    });
  }

  putRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return this.writes.exclusive(async () => {
      if (!this.state.repositories.has(record.name)) return false;
      await this.writes.commit({ op: 'repository', record, ...withEvents(events) });
      return true;
    });
  }

  async getRepository(name: string): Promise<RepositoryRecord | undefined> {
    const record = this.state.repositories.get(name);
    return record && copy(record);
  }

  async listRepositories(): Promise<RepositoryRecord[]> {
    return [...this.state.repositories.values()].map(copy);
  }

  deleteRepository(name: string, events?: readonly OutEvent[]): Promise<boolean> {
    return this.writes.exclusive(async () => {
      if (!this.state.repositories.has(name)) return false;
      await this.writes.commit({ op: 'deleteRepository', name, ...withEvents(events) });
      return true;
    });
  }

  // Organizations: `default` is present without being written; a delete checks for repositories
  // in the same exclusive step as the write, so no repository lands in an organization being removed.

  private hasOrganization(name: string): boolean {
    return name === DEFAULT_ORGANIZATION || this.state.organizations.has(name);
  }

  createOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return this.writes.exclusive(async () => {
      if (this.hasOrganization(record.name)) return false;
      await this.writes.commit({ op: 'organization', record, ...withEvents(events) });
      return true;
    });
  }

  putOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return this.writes.exclusive(async () => {
      if (!this.hasOrganization(record.name)) return false;
      await this.writes.commit({ op: 'organization', record, ...withEvents(events) });
      return true;
    });
  }

  async getOrganization(name: string): Promise<OrganizationRecord | undefined> {
    const record = this.state.organizations.get(name);
    if (record) return copy(record);
    return name === DEFAULT_ORGANIZATION ? defaultOrganization() : undefined;
  }

  async listOrganizations(): Promise<OrganizationRecord[]> {
    const all = [...this.state.organizations.values()].map(copy);
    return this.state.organizations.has(DEFAULT_ORGANIZATION) ? all : [defaultOrganization(), ...all];
  }

  deleteOrganization(name: string, events?: readonly OutEvent[]): Promise<OrganizationDeleteOutcome> {
    return this.writes.exclusive(async (): Promise<OrganizationDeleteOutcome> => {
      if (name === DEFAULT_ORGANIZATION) return 'not-empty';
      if (!this.state.organizations.has(name)) return 'missing';
      for (const repository of this.state.repositories.values()) if (organizationOf(repository) === name) return 'not-empty';
      await this.writes.commit({ op: 'deleteOrganization', name, ...withEvents(events) });
      return 'deleted';
    });
  }

  putUser(record: UserRecord, events?: readonly OutEvent[]): Promise<void> {
    return this.writes.exclusive(async () => {
      await this.writes.commit({ op: 'user', record, ...withEvents(events) });
    });
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const record = this.state.users.get(name);
    return record && copy(record);
  }

  async listUsers(): Promise<UserRecord[]> {
    return [...this.state.users.values()].map(copy);
  }

  deleteUser(name: string, events?: readonly OutEvent[]): Promise<boolean> {
    return this.writes.exclusive(async () => {
      if (!this.state.users.has(name)) return false;
      await this.writes.commit({ op: 'deleteUser', name, ...withEvents(events) });
      return true;
    });
  }
}
