import type { ServerOptions } from 'node:http';

/**
 * node:http's options for the admin port's slowloris bounds (`admin.timeouts`): a request's
 * head, and the whole request, must arrive within these, else 408. node:http checks both on a
 * sweep, every 30 s unless told: the sweep runs every quarter of the shorter bound (50 ms to 1 s).
 */
export function requestDeadlines({ headersMs, requestMs }: { headersMs: number; requestMs: number }): ServerOptions {
  return {
    headersTimeout: Math.min(headersMs, requestMs),
    requestTimeout: requestMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.min(headersMs, requestMs) / 4)),
  };
}
