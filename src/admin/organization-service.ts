import type { Clock } from '../clock.js';
import type { OrganizationStore } from '../store/token-store.js';
import { DEFAULT_ORGANIZATION, type OrganizationRecord } from '../tokens/record.js';
import type { Caller } from './caller.js';
import { conflict, forbidden, notFound } from './errors.js';
import { type DirectoryAction, mayChangeDirectory, mayDirectory } from './policy.js';
import type { OrganizationView } from './schemas.js';
import { viewOfOrganization } from './views.js';

export interface OrganizationServiceOptions {
  store: OrganizationStore;
  clock: Clock;
}

/**
 * Organizations (docs/organizations.md): `*` admins create and delete them (a delete only while
 * no repository belongs to it); an organization's admins read it and change its display name.
 * An organization the caller does not administer reads as one that does not exist.
 */
export class OrganizationService {
  constructor(private readonly options: OrganizationServiceOptions) {}

  private require(caller: Caller, action: DirectoryAction, what: string, target?: string): void {
    if (!mayDirectory(caller, action, target)) throw forbidden(`${what} needs an admin token for *${target === undefined ? '' : ` or for @${target}`}`);
    if (action !== 'read-organizations' && !mayChangeDirectory(caller)) {
      throw forbidden(`${what}: a lent token changes no organizations (the change would outlive the loan)`);
    }
  }

  async create(caller: Caller, name: string, displayName: string | undefined): Promise<OrganizationView> {
    this.require(caller, 'change-organizations', 'creating organizations');
    const now = this.options.clock.now();
    const record: OrganizationRecord = { name, displayName: displayName ?? name, createdAt: now, createdBy: caller.actor, updatedAt: now };
    if (!(await this.options.store.createOrganization(record))) throw conflict(`organization ${name} already exists`);
    return viewOfOrganization(record);
  }

  /** The organizations the caller administers (every one for a `*` admin), by name. */
  async list(caller: Caller): Promise<OrganizationView[]> {
    if (caller.role !== 'star' && caller.role !== 'scoped') this.require(caller, 'read-organizations', 'listing organizations');
    return (await this.options.store.listOrganizations())
      .filter((org) => mayDirectory(caller, 'read-organizations', org.name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(viewOfOrganization);
  }

  private async reachable(caller: Caller, action: DirectoryAction, name: string, what: string): Promise<OrganizationRecord> {
    const record = await this.options.store.getOrganization(name);
    if (!record || !mayDirectory(caller, action, name)) {
      if (caller.role !== 'star' && caller.role !== 'scoped') this.require(caller, action, what, name);
      throw notFound(`organization ${name}`);
    }
    this.require(caller, action, what, name);
    return record;
  }

  async get(caller: Caller, name: string): Promise<OrganizationView> {
    return viewOfOrganization(await this.reachable(caller, 'read-organizations', name, 'reading organizations'));
  }

  async edit(caller: Caller, name: string, displayName: string): Promise<OrganizationView> {
    const record = await this.reachable(caller, 'edit-organizations', name, 'changing organizations');
    const next = { ...record, displayName, updatedAt: this.options.clock.now() };
    if (!(await this.options.store.putOrganization(next))) throw notFound(`organization ${name}`);
    return viewOfOrganization(next);
  }

  /** Only an empty organization goes (409 while a repository belongs to it); `default` never does. */
  async delete(caller: Caller, name: string): Promise<void> {
    this.require(caller, 'change-organizations', 'deleting organizations');
    if (name === DEFAULT_ORGANIZATION) throw conflict('organization default holds every repository made without naming one; it cannot be deleted');
    const outcome = await this.options.store.deleteOrganization(name);
    if (outcome === 'missing') throw notFound(`organization ${name}`);
    if (outcome === 'not-empty') throw conflict(`organization ${name} still has repositories; delete them first`);
  }
}
