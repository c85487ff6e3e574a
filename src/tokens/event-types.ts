// What can happen to a record (a token, user, team, repository or organization): the names the
// webhooks send, the config's event filters and the admin API's event search all read.

/** Every event type of docs/webhooks.md. */
export const EVENT_TYPES = [
  'token.created',
  'token.edited',
  'token.rolled',
  'token.revoked',
  'token.restored',
  'token.deleted',
  'token.leaked',
  'token.expiring',
  'token.expired',
  'user.created',
  'user.edited',
  'user.deleted',
  'team.created',
  'team.edited',
  'team.deleted',
  'repository.created',
  'repository.deleted',
  'organization.created',
  'organization.edited',
  'organization.deleted',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
