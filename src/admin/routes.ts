import type { AdminContext, AdminReply } from './server.js';
import { createRepository, listRepositories } from './handlers/repositories.js';
import { createToken, getToken } from './handlers/tokens.js';
import { healthz, metrics, readyz } from './handlers/probes.js';

export interface AdminRoute {
  method: string;
  pattern: RegExp;
  /** `admin`: a valid token is required; `metrics`: only when admin.metricsAuth is on; `none`: open. */
  auth: 'admin' | 'metrics' | 'none';
  handler(context: AdminContext): Promise<AdminReply>;
}

const ID = '(?<id>[0-9a-f]{16})';

/** Every admin route; the OpenAPI description is checked against this list. */
export function routes(): AdminRoute[] {
  return [
    { method: 'GET', pattern: /^\/healthz$/, auth: 'none', handler: healthz },
    { method: 'GET', pattern: /^\/readyz$/, auth: 'none', handler: readyz },
    { method: 'GET', pattern: /^\/metrics$/, auth: 'metrics', handler: metrics },
    { method: 'POST', pattern: /^\/v1\/repositories$/, auth: 'admin', handler: createRepository },
    { method: 'GET', pattern: /^\/v1\/repositories$/, auth: 'admin', handler: listRepositories },
    { method: 'POST', pattern: /^\/v1\/tokens$/, auth: 'admin', handler: createToken },
    { method: 'GET', pattern: new RegExp(`^/v1/tokens/${ID}$`), auth: 'admin', handler: getToken },
  ];
}
