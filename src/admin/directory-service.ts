import type { Clock } from '../clock.js';
import type { Directory, TokenRecords } from '../store/token-store.js';
import {
  ALL_REPOSITORIES,
  DEFAULT_ORGANIZATION,
  type Grants,
  type HistoryEntry,
  organizationOf,
  type RepositoryRecord,
  scopedOrganization,
  statusAt,
  type TeamRecord,
  type UserRecord,
} from '../tokens/record.js';

/** The directory, and the token list (what a repository or user still holds). */
type DirectoryServiceStore = Directory & Pick<TokenRecords, 'listTokens'>;

import type { Limits } from '../limits/limits.js';
import type { Caller } from './caller.js';
import { conflict, forbidden, invalidRequest, notFound } from './errors.js';
import type { Invalidator } from './invalidator.js';
import { administersGrant, type DirectoryAction, mayChangeDirectory, mayDirectory } from './policy.js';
import type { RepositoryView, TeamView, UserView } from './schemas.js';
import type { TokenService } from './token-service.js';
import { viewOfRepository, viewOfTeam, viewOfUser } from './views.js';

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
    if (mayDirectory(caller, action, target)) return;
    const selfNote = action === 'change-users' || action === 'change-grants' ? ', other than one acting as that user' : '';
    const orgNote =
      target !== undefined && ['teams', 'change-repositories', 'read-organizations', 'edit-organizations'].includes(action) ? ` or for @${target}` : '';
    throw forbidden(`${what} needs an admin token for *${orgNote}${selfNote}`);
  }

  /** As `require`, for a change: users, teams and repositories outlive any token, so a loan changes none of them. */
  private requireChange(caller: Caller, action: DirectoryAction, what: string, target?: string): void {
    this.require(caller, action, what, target);
    if (!mayChangeDirectory(caller)) throw forbidden(`${what}: a lent token changes no users, teams or repositories (the change would outlive the loan)`);
  }

  /**
   * Every key names a repository, an organization (`@acme`) or `*`, that exists; a team's
   * (`within`: its organization) names only its own organization or repositories in it.
   */
  private async checkGrants(grants: Grants, within?: string): Promise<void> {
    const faults = [];
    for (const key of Object.keys(grants)) {
      const organization = scopedOrganization(key);
      if (key === ALL_REPOSITORIES) {
        if (within !== undefined) faults.push({ field: `grants.${key}`, message: `a team of ${within} holds grants inside ${within} only, not on *` });
      } else if (organization !== undefined) {
        if (!(await this.store.getOrganization(organization))) faults.push({ field: `grants.${key}`, message: `no organization named ${organization}` });
        else if (within !== undefined && organization !== within)
          faults.push({ field: `grants.${key}`, message: `a team of ${within} holds grants inside ${within} only` });
      } else {
        const repository = await this.store.getRepository(key);
        if (!repository) faults.push({ field: `grants.${key}`, message: `no repository named ${key}` });
        else if (within !== undefined && organizationOf(repository) !== within)
          faults.push({
            field: `grants.${key}`,
            message: `repository ${key} is in ${organizationOf(repository)}; a team of ${within} holds grants inside ${within} only`,
          });
      }
    }
    if (faults.length > 0) throw invalidRequest(faults);
  }

  /** The grant keys inside an organization: `@org` and the names of its repositories. */
  private async grantKeysInside(organization: string): Promise<Set<string>> {
    const repositories = (await this.store.listRepositories()).filter((repo) => organizationOf(repo) === organization).map((repo) => repo.name);
    return new Set([`@${organization}`, ...repositories]);
  }

  /** What of a user a caller sees: everything for a `*` admin or the user itself, else the grants (and teams) inside what it administers. */
  private userView(caller: Caller, user: UserRecord, teams: readonly TeamRecord[]): UserView {
    const own = caller.identity.record;
    if (caller.role === 'star' || (own.kind === 'personal' && own.user === user.name)) return viewOfUser(user, teams);
    const grants = Object.fromEntries(Object.entries(user.grants).filter(([key]) => administersGrant(caller, key)));
    const visibleTeams = teams.filter((team) => mayDirectory(caller, 'teams', organizationOf(team)));
    return viewOfUser({ ...user, grants }, visibleTeams);
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

  /** Users the caller may read; with `organization`, those holding a grant inside it. */
  async listUsers(caller: Caller, organization?: string): Promise<UserView[]> {
    this.require(caller, 'read-users', 'listing users');
    const teams = await this.store.listTeams();
    const inside = organization === undefined ? undefined : await this.grantKeysInside(organization);
    return (await this.store.listUsers())
      .filter((user) => inside === undefined || Object.keys(user.grants).some((key) => inside.has(key)))
      .sort((a, b) => a.name.localeCompare(b.name))
      .filter((user) => mayDirectory(caller, 'read-users', user.name))
      .map((user) =>
        this.userView(
          caller,
          user,
          teams.filter((team) => team.members.includes(user.name)),
        ),
      );
  }

  /** One user: `*` admins, or a personal token reading its own user. */
  async getUser(caller: Caller, name: string): Promise<UserView> {
    this.require(caller, 'read-users', 'reading users', name);
    const user = await this.store.getUser(name);
    if (!user) throw notFound(`user ${name}`);
    return this.userView(caller, user, await this.store.teamsOf(name));
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
    if (change.disabled !== undefined) this.requireChange(caller, 'change-users', 'disabling users', name);
    if (change.grants !== undefined) this.requireChange(caller, 'change-grants', 'changing grants', name);
    const user = await this.store.getUser(name);
    if (!user) throw notFound(`user ${name}`);
    let grants = user.grants;
    if (change.grants !== undefined) {
      await this.checkGrants(change.grants);
      grants = this.mergeGrants(caller, user.grants, change.grants);
    }
    const now = this.clock.now();
    const next: UserRecord = { ...user, grants, updatedAt: now };
    if (change.disabled === true) next.disabled = true;
    else if (change.disabled === false) delete next.disabled;
    await this.store.putUser(next);
    await this.invalidator.invalidate({ at: now, type: 'user', user: name });
    return this.userView(caller, next, await this.store.teamsOf(name));
  }

  /**
   * The grants after a change: a `*` admin's replace them; an organization admin's replace only
   * the keys it administers (those it sees), keep every other key, and name none beyond them.
   */
  private mergeGrants(caller: Caller, before: Grants, given: Grants): Grants {
    if (caller.role === 'star') return given;
    const outside = Object.keys(given).filter((key) => !administersGrant(caller, key));
    if (outside.length > 0) throw forbidden(`grants.${outside[0]}: outside what this token administers`);
    const kept = Object.entries(before).filter(([key]) => !administersGrant(caller, key));
    return Object.fromEntries([...kept, ...Object.entries(given)]);
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

  /** A repository belongs to one organization for ever; whatever reaches that organization through `@org` is read again. */
  async createRepository(caller: Caller, name: string, organization = DEFAULT_ORGANIZATION): Promise<RepositoryView> {
    this.requireChange(caller, 'change-repositories', 'creating repositories', organization);
    const now = this.clock.now();
    // Written as before for `default`, so a store read by an older replica looks alike.
    const record: RepositoryRecord = { name, createdAt: now, createdBy: caller.actor, ...(organization === DEFAULT_ORGANIZATION ? {} : { organization }) };
    if (!(await this.store.createRepository(record))) {
      if (await this.store.getRepository(name)) throw conflict(`repository ${name} already exists`);
      throw invalidRequest([{ field: 'organization', message: `no organization named ${organization}` }]);
    }
    await this.invalidator.invalidate({ at: now, type: 'organizations', organizations: [organization] });
    return viewOfRepository(record);
  }

  /** Sets (or with null removes) the default limits of a repository's tokens; who may change repositories may. */
  async editRepository(caller: Caller, name: string, limits: Limits | null): Promise<RepositoryView> {
    this.requireChange(caller, 'repository-limits', 'changing repositories');
    const record = await this.store.getRepository(name);
    if (!record) throw notFound(`repository ${name}`);
    const next = { ...record, limits };
    if (!(await this.store.putRepository(next))) throw notFound(`repository ${name}`);
    return viewOfRepository(next);
  }

  /** Repositories the caller administers. */
  async listRepositories(caller: Caller, organization?: string): Promise<RepositoryView[]> {
    if (caller.role !== 'star' && caller.role !== 'scoped') throw forbidden('listing repositories needs the admin right');
    const all = await this.store.listRepositories();
    return all
      .filter((repo) => mayDirectory(caller, 'list-repositories', repo.name) && (organization === undefined || organizationOf(repo) === organization))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(viewOfRepository);
  }

  /** Refused while active tokens name the repository. */
  async deleteRepository(caller: Caller, name: string): Promise<void> {
    const repository = await this.store.getRepository(name);
    // Not found and not yours read alike to an organization admin: it learns nothing outside its organization.
    if (!repository) {
      this.requireChange(caller, 'change-repositories', 'deleting repositories');
      throw notFound(`repository ${name}`);
    }
    this.requireChange(caller, 'change-repositories', 'deleting repositories', organizationOf(repository));
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
    await this.invalidator.invalidate({ at: now, type: 'organizations', organizations: [organizationOf(repository)] });
  }

  /** A team belongs to one organization (default: `default`) and holds grants inside it only; `*` admins may still give a `default` team any grant. */
  async createTeam(caller: Caller, name: string, members: string[], grants: Grants, organization = DEFAULT_ORGANIZATION): Promise<TeamView> {
    this.requireChange(caller, 'teams', 'creating teams', organization);
    if (!(await this.store.getOrganization(organization))) throw invalidRequest([{ field: 'organization', message: `no organization named ${organization}` }]);
    if (await this.store.getTeam(name)) throw conflict(`team ${name} already exists`);
    await this.checkMembers(members);
    await this.checkGrants(grants, this.teamBound(caller, organization));
    const now = this.clock.now();
    const team: TeamRecord = {
      name,
      ...(organization === DEFAULT_ORGANIZATION ? {} : { organization }),
      members: unique(members),
      grants,
      createdAt: now,
      updatedAt: now,
    };
    return viewOfTeam(await this.writeTeam(caller, team, undefined));
  }

  /**
   * The organization a team's grants must stay in: its own, except for a `*` admin's team in
   * `default`, which may hold any grant as every team did before organizations.
   */
  private teamBound(caller: Caller, organization: string): string | undefined {
    return caller.role === 'star' && organization === DEFAULT_ORGANIZATION ? undefined : organization;
  }

  async listTeams(caller: Caller, organization?: string): Promise<TeamView[]> {
    if (caller.role !== 'star' && caller.role !== 'scoped') this.require(caller, 'teams', 'listing teams');
    return (await this.store.listTeams())
      .filter((team) => mayDirectory(caller, 'teams', organizationOf(team)) && (organization === undefined || organizationOf(team) === organization))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(viewOfTeam);
  }

  /** A team the caller may administer; one outside its organizations reads as not found, as one that does not exist. */
  private async teamFor(caller: Caller, name: string, what: string): Promise<TeamRecord> {
    const team = await this.store.getTeam(name);
    if (!team || !mayDirectory(caller, 'teams', organizationOf(team))) {
      if (caller.role !== 'star' && caller.role !== 'scoped') this.require(caller, 'teams', what);
      throw notFound(`team ${name}`);
    }
    return team;
  }

  async getTeam(caller: Caller, name: string): Promise<TeamView> {
    return viewOfTeam(await this.teamFor(caller, name, 'reading teams'));
  }

  /** Replaces members and/or grants; every member before and after is evicted everywhere at once. */
  async editTeam(caller: Caller, name: string, change: { members?: string[] | undefined; grants?: Grants | undefined }): Promise<TeamView> {
    const team = await this.teamFor(caller, name, 'changing teams');
    this.requireChange(caller, 'teams', 'changing teams', organizationOf(team));
    if (change.members) await this.checkMembers(change.members);
    if (change.grants) await this.checkGrants(change.grants, this.teamBound(caller, organizationOf(team)));
    const next: TeamRecord = {
      ...team,
      members: change.members ? unique(change.members) : team.members,
      grants: change.grants ?? team.grants,
      updatedAt: this.clock.now(),
    };
    return viewOfTeam(await this.writeTeam(caller, next, team));
  }

  async deleteTeam(caller: Caller, name: string): Promise<void> {
    const team = await this.teamFor(caller, name, 'deleting teams');
    this.requireChange(caller, 'teams', 'deleting teams', organizationOf(team));
    const now = this.clock.now();
    if (!(await this.store.deleteTeam(name, { at: now, actor: caller.actor, action: 'deleted', changes: {} }))) throw notFound(`team ${name}`);
    if (team.members.length > 0) await this.invalidator.invalidate({ at: now, type: 'users', users: team.members });
  }

  async teamHistory(caller: Caller, name: string): Promise<HistoryEntry[]> {
    const team = await this.store.getTeam(name);
    // A deleted team's history: `*` admins only (its organization may be gone).
    if (team) await this.teamFor(caller, name, 'reading team history');
    else this.require(caller, 'teams', 'reading team history');
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
    if (before === undefined || JSON.stringify(before.grants) !== JSON.stringify(next.grants))
      changes.grants = { from: before?.grants ?? null, to: next.grants };
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
