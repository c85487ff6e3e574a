import { createHash } from 'node:crypto';

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
