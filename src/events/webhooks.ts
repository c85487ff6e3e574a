import { createHash } from 'node:crypto';

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

/** A configured webhook (events.webhooks). */
export interface WebhookConfig {
  url: string;
  secret: string;
  events: string[];
}

/**
 * The name of a webhook's queue (its Redis consumer group), from its URL: the same on every
 * replica and across restarts, whatever order the list is in. Never the secret.
 */
export const webhookId = (url: string): string => `wh_${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;

/** The URL as logs and GET /v1/events show it: no userinfo, query or fragment (they may hold keys). */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
