import { createHmac, randomBytes } from 'node:crypto';

// The Standard Webhooks form (https://www.standardwebhooks.com/): what a receiver's library checks.

/** The HMAC key of a `whsec_` secret. */
export const secretKey = (secret: string): Buffer => Buffer.from(secret.slice('whsec_'.length), 'base64');

/** `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`. */
export function signature(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The three headers of one delivery attempt (the timestamp is the attempt's, as the standard has it). */
export function signedHeaders(key: Buffer, id: string, nowMs: number, body: string): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature(key, id, timestamp, body),
  };
}

/** A fresh event id: `msg_` + 128 random bits, URL-safe. */
export const eventId = (): string => `msg_${randomBytes(16).toString('base64url')}`;
