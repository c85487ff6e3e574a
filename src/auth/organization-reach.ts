import type { TokenStore } from '../store/token-store.js';
import { organizationOf, scopedOrganization } from '../tokens/record.js';
import type { Identity, OrganizationReach } from './authorize.js';

/** The organizations a token's scope and (for a personal token or workload identity) its user's grants name as `@org`. */
export function organizationsNamed(identity: Pick<Identity, 'record' | 'grants'>): Set<string> {
  const named = new Set<string>();
  for (const scope of [identity.record.repository, ...Object.keys(identity.grants ?? {})]) {
    const organization = scopedOrganization(scope);
    if (organization !== undefined) named.add(organization);
  }
  return named;
}

/**
 * Where repositories belong, by organization, as the store last listed them: read once on the
 * first cache miss of a token that names an `@org`, and kept until an `organizations`
 * invalidation (a repository came into or left one) or a reset drops it, so a miss of another
 * such token reads no listing (with 1,000 repositories a listing took ~3 ms). A listing begun
 * before a drop is used for that lookup but not kept: it may predate the change.
 */
export class OrganizationMap {
  private byOrganization: Map<string, Map<string, string>> | undefined;
  private epoch = 0;

  constructor(private readonly store: Pick<TokenStore, 'listRepositories'>) {}

  /** The identity with its organization reach (docs/organizations.md); the identity as it is when it names no `@org`. */
  async withOrganizations(identity: Identity): Promise<Identity> {
    const named = organizationsNamed(identity);
    if (named.size === 0) return identity;
    const byOrganization = this.byOrganization ?? (await this.list());
    let repositories: ReadonlyMap<string, string>;
    if (named.size === 1) {
      // One organization named (the common case): its map is the reach, shared, not copied.
      repositories = byOrganization.get(named.values().next().value!) ?? EMPTY;
    } else {
      const merged = new Map<string, string>();
      for (const organization of named) for (const [name, of] of byOrganization.get(organization) ?? EMPTY) merged.set(name, of);
      repositories = merged;
    }
    const reach: OrganizationReach = { named, repositories };
    return { ...identity, organizations: reach };
  }

  /** A repository came into or left an organization (or the cache was reset): list again on the next miss. */
  drop(): void {
    this.epoch++;
    this.byOrganization = undefined;
  }

  private async list(): Promise<Map<string, Map<string, string>>> {
    const epoch = this.epoch;
    const byOrganization = new Map<string, Map<string, string>>();
    for (const repository of await this.store.listRepositories()) {
      const organization = organizationOf(repository);
      let repositories = byOrganization.get(organization);
      if (repositories === undefined) {
        repositories = new Map();
        byOrganization.set(organization, repositories);
      }
      repositories.set(repository.name, organization);
    }
    if (epoch === this.epoch) this.byOrganization = byOrganization;
    return byOrganization;
  }
}

const EMPTY: ReadonlyMap<string, string> = new Map();

/** Whether an identity was resolved through any of these organizations (and must be read again). */
export const reachesInto = (identity: Identity, organizations: readonly string[]): boolean =>
  identity.organizations !== undefined && organizations.some((organization) => identity.organizations!.named.has(organization));
