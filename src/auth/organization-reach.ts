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
 * The identity with its organization reach (docs/organizations.md): read on a cache miss, only
 * when it names an `@org`, so a cached token asks the store nothing per request. A repository
 * made or removed in a named organization later reaches it through the `organizations`
 * invalidation, which drops the identity like a revoke drops a token.
 */
export async function withOrganizations(store: Pick<TokenStore, 'listRepositories'>, identity: Identity): Promise<Identity> {
  const named = organizationsNamed(identity);
  if (named.size === 0) return identity;
  const repositories = new Map<string, string>();
  for (const repository of await store.listRepositories()) {
    const organization = organizationOf(repository);
    if (named.has(organization)) repositories.set(repository.name, organization);
  }
  const reach: OrganizationReach = { named, repositories };
  return { ...identity, organizations: reach };
}

/** Whether an identity was resolved through any of these organizations (and must be read again). */
export const reachesInto = (identity: Identity, organizations: readonly string[]): boolean =>
  identity.organizations !== undefined && organizations.some((organization) => identity.organizations!.named.has(organization));
