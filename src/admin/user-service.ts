import type { Clock } from '../clock.js';
import type { TokenStore } from '../store/token-store.js';
import { ALL_REPOSITORIES, statusAt, type Grants, type RepositoryRecord, type UserRecord } from '../tokens/record.js';
import { administers, type Caller } from './caller.js';
import { conflict, forbidden, invalidRequest, notFound } from './errors.js';
import type { TokenService } from './token-service.js';

export interface UserView {
  name: string;
  grants: Grants;
  createdAt: string;
  updatedAt: string;
}

export interface RepositoryView {
  name: string;
  createdAt: string;
  createdBy: string;
}

const userView = (user: UserRecord): UserView => ({
  name: user.name,
  grants: user.grants,
  createdAt: new Date(user.createdAt).toISOString(),
  updatedAt: new Date(user.updatedAt).toISOString(),
});

const repositoryView = (repo: RepositoryRecord): RepositoryView => ({
  name: repo.name,
  createdAt: new Date(repo.createdAt).toISOString(),
  createdBy: repo.createdBy,
});

/** Users, their grants and repositories: managed by `*` admins (SPEC §5). */
export class DirectoryService {
  constructor(
    private readonly store: TokenStore,
    private readonly clock: Clock,
    private readonly tokens: TokenService,
  ) {}

  private requireStarAdmin(caller: Caller, what: string): void {
    if (!administers(caller, ALL_REPOSITORIES)) throw forbidden(`${what} needs an admin token for *`);
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
    this.requireStarAdmin(caller, 'creating users');
    if (await this.store.getUser(name)) throw conflict(`user ${name} already exists`);
    await this.checkGrants(grants);
    const now = this.clock.now();
    const user: UserRecord = { name, grants, createdAt: now, updatedAt: now };
    await this.store.putUser(user);
    return userView(user);
  }

  async listUsers(caller: Caller): Promise<UserView[]> {
    this.requireStarAdmin(caller, 'listing users');
    return (await this.store.listUsers()).sort((a, b) => a.name.localeCompare(b.name)).map(userView);
  }

  /** One user: `*` admins, or a personal token reading its own user. */
  async getUser(caller: Caller, name: string): Promise<UserView> {
    const own = caller.identity.record;
    if (!(own.kind === 'personal' && own.user === name)) this.requireStarAdmin(caller, 'reading users');
    const user = await this.store.getUser(name);
    if (!user) throw notFound(`user ${name}`);
    return userView(user);
  }

  /** Replaces the grants; every personal token of the user is evicted everywhere at once. */
  async setGrants(caller: Caller, name: string, grants: Grants): Promise<UserView> {
    this.requireStarAdmin(caller, 'changing grants');
    const user = await this.store.getUser(name);
    if (!user) throw notFound(`user ${name}`);
    await this.checkGrants(grants);
    const now = this.clock.now();
    const next: UserRecord = { ...user, grants, updatedAt: now };
    await this.store.putUser(next);
    await this.tokens.invalidate({ at: now, type: 'user', user: name });
    return userView(next);
  }

  /** Deletes a user after revoking their personal tokens (revoked, not deleted: history and restore stay possible). */
  async deleteUser(caller: Caller, name: string): Promise<void> {
    this.requireStarAdmin(caller, 'deleting users');
    if (!(await this.store.getUser(name))) throw notFound(`user ${name}`);
    await this.tokens.revokeAllOf(caller.actor, name);
    await this.store.deleteUser(name);
    await this.tokens.invalidate({ at: this.clock.now(), type: 'user', user: name });
  }

  async createRepository(caller: Caller, name: string): Promise<RepositoryView> {
    this.requireStarAdmin(caller, 'creating repositories');
    const record = { name, createdAt: this.clock.now(), createdBy: caller.actor };
    if (!(await this.store.createRepository(record))) throw conflict(`repository ${name} already exists`);
    return repositoryView(record);
  }

  /** Repositories the caller administers. */
  async listRepositories(caller: Caller): Promise<RepositoryView[]> {
    if (caller.adminScope === null) throw forbidden('listing repositories needs the admin right');
    const all = await this.store.listRepositories();
    return all.filter((repo) => administers(caller, repo.name)).sort((a, b) => a.name.localeCompare(b.name)).map(repositoryView);
  }

  /** Refused while active tokens name the repository. */
  async deleteRepository(caller: Caller, name: string): Promise<void> {
    this.requireStarAdmin(caller, 'deleting repositories');
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
    if (others.length > 0) await this.tokens.invalidate({ at: now, type: 'tokens', ids: others });
  }
}
