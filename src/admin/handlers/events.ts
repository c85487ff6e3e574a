import { organizationScope } from '../../tokens/record.js';
import { administers, type Caller } from '../caller.js';
import type { AdminReply } from '../context.js';
import type { RequestParts } from '../route-entry.js';
import type { ListEventsQuery } from '../schemas.js';

/**
 * The organization an event belongs to (docs/organizations.md): the one its token, repository or
 * team names, or the organization itself; undefined for user events and `*` tokens.
 */
export function eventOrganization(event: { type: string; data: unknown }): string | undefined {
  const data = event.data as { organization?: unknown; name?: unknown } | null;
  if (event.type.startsWith('organization.')) return typeof data?.name === 'string' ? data.name : undefined;
  return typeof data?.organization === 'string' ? data.organization : undefined;
}

/**
 * Which events a caller sees (GET /v1/events, for admins: docs/webhooks.md): a `*` admin sees every
 * event; a scoped admin sees the token and repository events of the repositories it
 * administers (as it sees those tokens in GET /v1/tokens), and an organization's admin also
 * every token, repository and team event of that organization and its own (a deleted
 * repository's too). No user events: users are above organizations. Callers without the admin
 * right are refused.
 */
export function seesEvent(caller: Caller, event: { type: string; data: unknown }): boolean {
  if (caller.role === 'star') return true;
  if (caller.role !== 'scoped') return false;
  const data = event.data as { repository?: unknown; name?: unknown } | null;
  const organization = eventOrganization(event);
  const ofOrganization = organization !== undefined && administers(caller, organizationScope(organization));
  if (event.type.startsWith('token.')) return ofOrganization || (typeof data?.repository === 'string' && administers(caller, data.repository));
  if (event.type.startsWith('repository.')) return ofOrganization || (typeof data?.name === 'string' && administers(caller, data.name));
  if (event.type.startsWith('team.') || event.type.startsWith('organization.')) return ofOrganization;
  return false;
}

/** Callers without the admin right never get here: the route's `read-events` action refuses them (policy.ts). */
export async function listEvents({ query, caller, options }: RequestParts<unknown> & { caller: Caller; query: ListEventsQuery }): Promise<AdminReply> {
  const { limit = 50, type, token, actor, organization } = query;
  if (!options.outbox) return { json: { items: [] } };
  // Read a wider window when filtering, so a page of a scoped admin's events is not mostly empty.
  const scan =
    caller.role === 'star' && type === undefined && token === undefined && actor === undefined && organization === undefined
      ? limit
      : Math.min(limit * 10, 5000);
  const items = await options.outbox.recent(
    scan,
    (event) =>
      (type === undefined || event.type === type) &&
      (token === undefined || (event.data as { id?: unknown } | null)?.id === token) &&
      (actor === undefined || event.actor === actor) &&
      (organization === undefined || eventOrganization(event) === organization) &&
      seesEvent(caller, event),
  );
  return { json: { items: items.slice(0, limit) } };
}
