import type { Clock } from '../clock.js';
import type { Directory, TokenRecords } from '../store/token-store.js';

/** The directory, and the token list (what a repository or user still holds). */
type DirectoryServiceStore = Directory & Pick<TokenRecords, 'listTokens'>;
import { ALL_REPOSITORIES, statusAt, type Grants, type HistoryEntry, type TeamRecord, type UserRecord } from '../tokens/record.js';
import type { Caller } from './caller.js';
import { mayChangeDirectory, mayDirectory, type DirectoryAction } from './policy.js';
import { conflict, forbidden, invalidRequest, notFound } from './errors.js';
import type { Invalidator } from './invalidator.js';
import type { Limits } from '../limits/limits.js';
import type { RepositoryView, TeamView, UserView } from './schemas.js';
import { viewOfRepository, viewOfTeam, viewOfUser } from './views.js';
import type { TokenService } from './token-service.js';

/** Users, teams, their grants, and repositories: managed by `*` admins (docs/admin-api.md). */
export interface DirectoryServiceOptions {
  store: DirectoryServiceStore;
  clock: Clock;
  /** For revoking a deleted user's tokens (and what they made). */
  tokens: TokenService;
  invalidator: Invalidator;
}

export class DirectoryService {
  private readonly store: DirectoryServiceStore;
  private readonly clock: Clock;
  private readonly tokens: TokenService;
  private readonly invalidator: Invalidator;

  constructor(options: DirectoryServiceOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.tokens = options.tokens;
    this.invalidator = options.invalidator;
  }

  private require(caller: Caller, action: DirectoryAction, what: string, target?: string): void {
    if (!mayDirectory(caller, action, target)) throw forbidden(`${what} needs an admin token for *${action === 'change-users' ? ', other than one acting as that user' : ''}`);
  }

  /** As `require`, for a change: users, teams and repositories outlive any token, so a loan changes none of them. */
  private requireChange(caller: Caller, action: DirectoryAction, what: string, target?: string): void {
    this.require(caller, action, what, target);
    if (!mayChangeDirectory(caller)) throw forbidden(`${what}: a lent token changes no users, teams or repositories (the change would outlive the loan)`);
  }

  private async checkGrants(grants: Grants): Promise<void> {
    const faults = [];
    for (const repository of Object.keys(grants)) {
      if (repository !== ALL_REPOSITORIES && !(await this.store.getRepository(repository))) {
        faults.push({ field: `grants.${repository}`, message: `no repository named ${repository}` });
      }
    }
    if (faults.length > 0) throw invalidRequest(faults);
  }

  async createUser(caller: Caller, name: string, grants: Grants): Promise<UserView> {
    this.requireChange(caller, 'change-users', 'creating users', name);
    if (await this.store.getUser(name)) throw conflict(`user ${name} already exists`);
    await this.checkGrants(grants);
    const now = this.clock.now();
    const user: UserRecord = { name, grants, createdAt: now, updatedAt: now };
    await this.store.putUser(user);
    return viewOfUser(user, []);
  }

  async listUsers(caller: Caller): Promise<UserView[]> {
    this.require(caller, 'read-users', 'listing users');
    const teams = await this.store.listTeams();
    return (await this.store.listUsers())
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((user) => viewOfUser(user, teams.filter((team) => team.members.includes(user.name))));
  }

  /** One user: `*` admins, or a personal token reading its own user. */
  async getUser(caller: Caller, name: string): Promise<UserView> {
    this.require(caller, 'read-users', 'reading users', name);
    const user = await this.store.getUser(name);
    if (!user) throw notFound(`user ${name}`);
    return viewOfUser(user, await this.store.teamsOf(name));
  }

  /** Replaces the grants; every personal token of the user is evicted everywhere at once. */
  async setGrants(caller: Caller, name: string, grants: Grants): Promise<UserView> {
    return this.editUser(caller, name, { grants });
  }

  /**
   * Replaces the grants and/or disables or enables the user. Either reaches every replica through
   * the user's invalidation, as a grant change does: a disabled user's personal tokens and workload
   * identities are refused at once and their open exchanges end (docs/workload-identity.md).
   */
  async editUser(caller: Caller, name: string, change: { grants?: Grants | undefined; disabled?: boolean | undefined }): Promise<UserView> {
    this.requireChange(caller, 'change-users', change.grants === undefined ? 'disabling users' : 'changing grants', name);
    const user = await this.store.getUser(name);
    if (!user) throw notFound(`user ${name}`);
    const grants = change.grants ?? user.grants;
    if (change.grants !== undefined) await this.checkGrants(grants);
    const now = this.clock.now();
    const next: UserRecord = { ...user, grants, updatedAt: now };
    if (change.disabled === true) next.disabled = true;
    else if (change.disabled === false) delete next.disabled;
    await this.store.putUser(next);
    await this.invalidator.invalidate({ at: now, type: 'user', user: name });
    return viewOfUser(next, await this.store.teamsOf(name));
  }

  /** Deletes a user after revoking their personal tokens (revoked, not deleted: history and restore stay possible). */
  async deleteUser(caller: Caller, name: string): Promise<void> {
    this.requireChange(caller, 'change-users', 'deleting users', name);
    if (!(await this.store.getUser(name))) throw notFound(`user ${name}`);
    await this.tokens.revokeAllOf(caller.actor, name);
    for (const team of await this.store.teamsOf(name)) {
      await this.writeTeam(caller, { ...team, members: team.members.filter((member) => member !== name) }, team);
    }
    await this.store.deleteUser(name);
    await this.invalidator.invalidate({ at: this.clock.now(), type: 'user', user: name });
  }

  async createRepository(caller: Caller, name: string): Promise<RepositoryView> {
    this.requireChange(caller, 'change-repositories', 'creating repositories');
    const record = { name, createdAt: this.clock.now(), createdBy: caller.actor };
    if (!(await this.store.createRepository(record))) throw conflict(`repository ${name} already exists`);
    return viewOfRepository(record);
  }

  /** Sets (or with null removes) the default limits of a repository's tokens; who may change repositories may. */
  async editRepository(caller: Caller, name: string, limits: Limits | null): Promise<RepositoryView> {
    this.requireChange(caller, 'change-repositories', 'changing repositories');
    const record = await this.store.getRepository(name);
    if (!record) throw notFound(`repository ${name}`);
    const next = { ...record, limits };
    if (!(await this.store.putRepository(next))) throw notFound(`repository ${name}`);
    return viewOfRepository(next);
  }

  /** Repositories the caller administers. */
  async listRepositories(caller: Caller): Promise<RepositoryView[]> {
    if (caller.role !== 'star' && caller.role !== 'scoped') throw forbidden('listing repositories needs the admin right');
    const all = await this.store.listRepositories();
    return all.filter((repo) => mayDirectory(caller, 'list-repositories', repo.name)).sort((a, b) => a.name.localeCompare(b.name)).map(viewOfRepository);
  }

  /** Refused while active tokens name the repository. */
  async deleteRepository(caller: Caller, name: string): Promise<void> {
    this.requireChange(caller, 'change-repositories', 'deleting repositories');
    if (!(await this.store.getRepository(name))) throw notFound(`repository ${name}`);
    const now = this.clock.now();
    let active = 0;
    const others: string[] = [];
    for (const record of await this.store.listTokens()) {
      if (record.repository !== name) continue;
      if (statusAt(record, now) === 'active') active++;
      else others.push(record.id);
    }
    if (active > 0) throw conflict(`repository ${name} still has ${active} active token${active === 1 ? '' : 's'}; revoke them first`);
    await this.store.deleteRepository(name);
    // Its revoked and expired tokens are refused already; evicting them keeps every cache exact.
    if (others.length > 0) await this.invalidator.invalidate({ at: now, type: 'tokens', ids: others });
  }

  async createTeam(caller: Caller, name: string, members: string[], grants: Grants): Promise<TeamView> {
    this.requireChange(caller, 'teams', 'creating teams');
    if (await this.store.getTeam(name)) throw conflict(`team ${name} already exists`);
    await this.checkMembers(members);
    await this.checkGrants(grants);
    const now = this.clock.now();
    return viewOfTeam(await this.writeTeam(caller, { name, members: unique(members), grants, createdAt: now, updatedAt: now }, undefined));
  }

  async listTeams(caller: Caller): Promise<TeamView[]> {
    this.require(caller, 'teams', 'listing teams');
    return (await this.store.listTeams()).sort((a, b) => a.name.localeCompare(b.name)).map(viewOfTeam);
  }

  async getTeam(caller: Caller, name: string): Promise<TeamView> {
    this.require(caller, 'teams', 'reading teams');
    const team = await this.store.getTeam(name);
    if (!team) throw notFound(`team ${name}`);
    return viewOfTeam(team);
  }

  /** Replaces members and/or grants; every member before and after is evicted everywhere at once. */
  async editTeam(caller: Caller, name: string, change: { members?: string[] | undefined; grants?: Grants | undefined }): Promise<TeamView> {
    this.requireChange(caller, 'teams', 'changing teams');
    const team = await this.store.getTeam(name);
    if (!team) throw notFound(`team ${name}`);
    if (change.members) await this.checkMembers(change.members);
    if (change.grants) await this.checkGrants(change.grants);
    const next: TeamRecord = {
      ...team,
      members: change.members ? unique(change.members) : team.members,
      grants: change.grants ?? team.grants,
      updatedAt: this.clock.now(),
    };
    return viewOfTeam(await this.writeTeam(caller, next, team));
  }

  async deleteTeam(caller: Caller, name: string): Promise<void> {
    this.requireChange(caller, 'teams', 'deleting teams');
    const team = await this.store.getTeam(name);
    if (!team) throw notFound(`team ${name}`);
    const now = this.clock.now();
    if (!(await this.store.deleteTeam(name, { at: now, actor: caller.actor, action: 'deleted', changes: {} }))) throw notFound(`team ${name}`);
    if (team.members.length > 0) await this.invalidator.invalidate({ at: now, type: 'users', users: team.members });
  }

  async teamHistory(caller: Caller, name: string): Promise<HistoryEntry[]> {
    this.require(caller, 'teams', 'reading team history');
    const entries = await this.store.teamHistory(name);
    if (entries.length === 0) throw notFound(`team ${name}`);
    return entries;
  }

  /** Writes a team with its history entry and evicts the personal tokens of everyone it touched. */
  private async writeTeam(caller: Caller, next: TeamRecord, before: TeamRecord | undefined): Promise<TeamRecord> {
    const touched = unique([...(before?.members ?? []), ...next.members]);
    this.refuseWideningSelf(caller, next, before);
    const changes: HistoryEntry['changes'] = {};
    if (before === undefined || before.members.join() !== next.members.join()) changes.members = { from: before?.members ?? null, to: next.members };
    if (before === undefined || JSON.stringify(before.grants) !== JSON.stringify(next.grants)) changes.grants = { from: before?.grants ?? null, to: next.grants };
    if (before !== undefined && Object.keys(changes).length === 0) return before;
    const now = this.clock.now();
    await this.store.putTeam(next, { at: now, actor: caller.actor, action: before === undefined ? 'created' : 'edited', changes });
    // Also on create: a member's cached grants miss the new team until evicted.
    if (touched.length > 0) await this.invalidator.invalidate({ at: now, type: 'users', users: touched });
    return next;
  }

  /**
   * No action widens the caller: a personal token may not join its own user to a team, nor
   * change the grants of a team its user is in (leaving or shrinking one is fine).
   */
  private refuseWideningSelf(caller: Caller, next: TeamRecord, before: TeamRecord | undefined): void {
    const own = caller.identity.record;
    if (own.kind !== 'personal' || own.user === null || !next.members.includes(own.user)) return;
    const wasMember = before?.members.includes(own.user) ?? false;
    const grantsChanged = JSON.stringify(before?.grants) !== JSON.stringify(next.grants);
    if (!wasMember || grantsChanged) {
      throw forbidden(`members: this token acts as ${own.user}, who would gain this team's grants; another admin changes it`);
    }
  }

  private async checkMembers(members: readonly string[]): Promise<void> {
    const faults = [];
    for (const [i, member] of members.entries()) {
      if (!(await this.store.getUser(member))) faults.push({ field: `members.${i}`, message: `no user named ${member}` });
    }
    if (faults.length > 0) throw invalidRequest(faults);
  }
}

const unique = (names: readonly string[]): string[] => [...new Set(names)];
