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
import type { Directory, Invalidation, OrganizationDeleteOutcome } from '../token-store.js';
import type { RedisCommands } from './commands.js';

/** What an unconfirmed repository or organization write evicts: whatever was resolved through them, which is anything. */
const EVICT_ALL = (): Invalidation => ({ at: Date.now(), type: 'all' });

/**
 * The directory in Redis: one hash of JSON records each for organizations, repositories, users
 * and teams, a history list per team, and per user the set of teams naming them.
 */
export class RedisDirectory implements Directory {
  constructor(private readonly redis: RedisCommands) {}

  /**
   * A user, team or repository write with its events: one script where every key is on one
   * server, else the write and then the events (Cluster: its keys are in different slots). All
   * directory writes go on the writer connection; with store.redis.waitReplicas, a write that
   * changed something then waits for the replicas (RedisCommands.confirm, which publishes
   * `evict` if they fall short; without it, a team's write, the caller confirms after its
   * member sets).
   */
  private async record(
    op: string,
    write: { mode: 'set' | 'setnx' | 'del'; key: string; field: string; value?: string; entry?: HistoryEntry; historyKey?: string },
    events: readonly OutEvent[] | undefined,
    evict: Invalidation | undefined,
  ): Promise<boolean> {
    const mark = this.redis.writeMark();
    const done = await this.write(op, write, events);
    if (done && evict) await this.redis.confirm(op, mark, evict);
    return done;
  }

  private async write(
    op: string,
    write: { mode: 'set' | 'setnx' | 'del'; key: string; field: string; value?: string; entry?: HistoryEntry; historyKey?: string },
    events: readonly OutEvent[] | undefined,
  ): Promise<boolean> {
    const { writer: client, keys } = this.redis;
    if (this.redis.atomic) {
      const entry = write.entry === undefined ? '' : JSON.stringify(write.entry);
      const scriptKeys = [write.key, write.historyKey ?? write.key, keys.eventStream];
      const done = await this.redis.run(op, () =>
        client.tgRecord(...scriptKeys, ...this.redis.eventArgs(events), write.mode, write.field, write.value ?? '', entry),
      );
      return done === 1;
    }
    let done: boolean;
    if (write.mode === 'set') done = (await this.redis.run(op, () => client.hset(write.key, write.field, write.value!))) >= 0;
    else if (write.mode === 'setnx') done = (await this.redis.run(op, () => client.hsetnx(write.key, write.field, write.value!))) === 1;
    else done = (await this.redis.run(op, () => client.hdel(write.key, write.field))) === 1;
    if (!done) return false;
    if (write.entry !== undefined) await this.redis.run(op, () => client.rpush(write.historyKey!, JSON.stringify(write.entry)));
    await this.redis.appendAfter(op, events);
    return true;
  }

  // Teams: one hash of JSON records, a history list per team, and per user the set of teams
  // naming them (what a cache miss reads). The team record is written first and is the truth:
  // teamsOf() keeps only teams whose members include the user, so a crash between the writes
  // can leave a user short of a team's grants, never holding one they lost.

  async putTeam(record: TeamRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<void> {
    const { writer: client, keys } = this.redis;
    const before = await this.getTeam(record.name);
    const mark = this.redis.writeMark();
    await this.record(
      'putTeam',
      { mode: 'set', key: keys.teams, field: record.name, value: JSON.stringify(record), entry, historyKey: keys.teamHistory(record.name) },
      events,
      undefined,
    );
    const gone = (before?.members ?? []).filter((user) => !record.members.includes(user));
    await this.redis.run('putTeam', () =>
      Promise.all([
        ...record.members.map((user) => client.sadd(keys.userTeams(user), record.name)),
        ...gone.map((user) => client.srem(keys.userTeams(user), record.name)),
      ]),
    );
    const users = [...new Set([...(before?.members ?? []), ...record.members])];
    await this.redis.confirm('putTeam', mark, { at: Date.now(), type: 'users', users });
  }

  async getTeam(name: string): Promise<TeamRecord | undefined> {
    const raw = await this.redis.run('getTeam', () => this.redis.client.hget(this.redis.keys.teams, name));
    return raw ? (JSON.parse(raw) as TeamRecord) : undefined;
  }

  async listTeams(): Promise<TeamRecord[]> {
    const all = await this.redis.run('listTeams', () => this.redis.client.hvals(this.redis.keys.teams));
    return all.map((raw) => JSON.parse(raw) as TeamRecord);
  }

  async deleteTeam(name: string, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean> {
    const { writer: client, keys } = this.redis;
    const before = await this.getTeam(name);
    if (!before) return false;
    const mark = this.redis.writeMark();
    if (!(await this.record('deleteTeam', { mode: 'del', key: keys.teams, field: name, entry, historyKey: keys.teamHistory(name) }, events, undefined)))
      return false;
    await this.redis.run('deleteTeam', () => Promise.all(before.members.map((user) => client.srem(keys.userTeams(user), name))));
    await this.redis.confirm('deleteTeam', mark, { at: Date.now(), type: 'users', users: before.members });
    return true;
  }

  async teamHistory(name: string): Promise<HistoryEntry[]> {
    const items = await this.redis.run('teamHistory', () => this.redis.client.lrange(this.redis.keys.teamHistory(name), 0, -1));
    return items.map((item) => JSON.parse(item) as HistoryEntry);
  }

  async teamsOf(user: string): Promise<TeamRecord[]> {
    const { client, keys } = this.redis;
    const names = await this.redis.run('teamsOf', () => client.smembers(keys.userTeams(user)));
    if (names.length === 0) return [];
    const raws = await this.redis.run('teamsOf', () => client.hmget(keys.teams, ...names));
    const teams: TeamRecord[] = [];
    for (const raw of raws) {
      if (raw === null) continue;
      const team = JSON.parse(raw) as TeamRecord;
      if (team.members.includes(user)) teams.push(team);
    }
    return teams;
  }

  async createRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean> {
    // A repository of `default` written as before (no field), so older replicas read it alike.
    return (await this.organizationWrite('createRepository', 'create-repository', record.name, JSON.stringify(record), events, organizationOf(record))) === 1;
  }

  /** HSETXX-like: only over a repository that exists (HEXISTS then HSET would race a delete; a delete racing this is rare and harmless: the next delete removes it). */
  async putRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean> {
    const keys = this.redis.keys;
    if ((await this.redis.run('putRepository', () => this.redis.client.hexists(keys.repositories, record.name))) === 0) return false;
    await this.record('putRepository', { mode: 'set', key: keys.repositories, field: record.name, value: JSON.stringify(record) }, events, EVICT_ALL());
    return true;
  }

  async getRepository(name: string): Promise<RepositoryRecord | undefined> {
    const raw = await this.redis.run('getRepository', () => this.redis.client.hget(this.redis.keys.repositories, name));
    return raw ? (JSON.parse(raw) as RepositoryRecord) : undefined;
  }

  async listRepositories(): Promise<RepositoryRecord[]> {
    const all = await this.redis.run('listRepositories', () => this.redis.client.hvals(this.redis.keys.repositories));
    return all.map((raw) => JSON.parse(raw) as RepositoryRecord);
  }

  deleteRepository(name: string, events?: readonly OutEvent[]): Promise<boolean> {
    return this.record('deleteRepository', { mode: 'del', key: this.redis.keys.repositories, field: name }, events, EVICT_ALL());
  }

  // Organizations (docs/organizations.md): a hash in the slot of `repositories`, written by one
  // script that also creates repositories, so a delete sees every repository of its organization.

  private async organizationWrite(
    op: string,
    mode: string,
    name: string,
    value: string,
    events: readonly OutEvent[] | undefined,
    organization = '',
  ): Promise<number> {
    const keys = this.redis.keys;
    const scriptKeys = [keys.organizations, keys.repositories, this.redis.atomic ? keys.eventStream : keys.organizations];
    const mark = this.redis.writeMark();
    const done = await this.redis.run(op, () =>
      this.redis.writer.tgOrganization(...scriptKeys, ...this.redis.eventArgs(events), mode, name, value, organization, DEFAULT_ORGANIZATION),
    );
    if (done === 1) {
      await this.redis.appendAfter(op, events);
      await this.redis.confirm(op, mark, EVICT_ALL());
    }
    return done;
  }

  async createOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return (await this.organizationWrite('createOrganization', 'create-organization', record.name, JSON.stringify(record), events)) === 1;
  }

  async putOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return (await this.organizationWrite('putOrganization', 'put-organization', record.name, JSON.stringify(record), events)) === 1;
  }

  async getOrganization(name: string): Promise<OrganizationRecord | undefined> {
    const raw = await this.redis.run('getOrganization', () => this.redis.client.hget(this.redis.keys.organizations, name));
    if (raw) return JSON.parse(raw) as OrganizationRecord;
    return name === DEFAULT_ORGANIZATION ? defaultOrganization() : undefined;
  }

  async listOrganizations(): Promise<OrganizationRecord[]> {
    const all = (await this.redis.run('listOrganizations', () => this.redis.client.hvals(this.redis.keys.organizations))).map(
      (raw) => JSON.parse(raw) as OrganizationRecord,
    );
    return all.some((org) => org.name === DEFAULT_ORGANIZATION) ? all : [defaultOrganization(), ...all];
  }

  async deleteOrganization(name: string, events?: readonly OutEvent[]): Promise<OrganizationDeleteOutcome> {
    const done = await this.organizationWrite('deleteOrganization', 'delete-organization', name, '', events);
    return done === 1 ? 'deleted' : done === 2 ? 'not-empty' : 'missing';
  }

  async putUser(record: UserRecord, events?: readonly OutEvent[]): Promise<void> {
    const evict: Invalidation = { at: Date.now(), type: 'user', user: record.name };
    await this.record('putUser', { mode: 'set', key: this.redis.keys.users, field: record.name, value: JSON.stringify(record) }, events, evict);
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const raw = await this.redis.run('getUser', () => this.redis.client.hget(this.redis.keys.users, name));
    return raw ? (JSON.parse(raw) as UserRecord) : undefined;
  }

  async listUsers(): Promise<UserRecord[]> {
    const all = await this.redis.run('listUsers', () => this.redis.client.hvals(this.redis.keys.users));
    return all.map((raw) => JSON.parse(raw) as UserRecord);
  }

  deleteUser(name: string, events?: readonly OutEvent[]): Promise<boolean> {
    return this.record('deleteUser', { mode: 'del', key: this.redis.keys.users, field: name }, events, { at: Date.now(), type: 'user', user: name });
  }
}
