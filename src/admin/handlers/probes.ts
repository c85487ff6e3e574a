import { effectiveRights } from '../../auth/authorize.js';
import { LIVE, readiness } from '../../probes/probes.js';
import { EVENT_TYPES } from '../../tokens/event-types.js';
import { ALL_REPOSITORIES, RIGHTS, type Right } from '../../tokens/record.js';
import type { Caller } from '../caller.js';
import type { AdminReply } from '../context.js';
import type { RequestParts } from '../route-entry.js';

/** Liveness: the process serves. */
export async function healthz(): Promise<AdminReply> {
  return LIVE;
}

/** Readiness: the store answers and shutdown has not begun (the same answer a proxy replica gives). */
export async function readyz({ options }: RequestParts<unknown>): Promise<AdminReply> {
  return readiness(options.store, options.isDraining());
}

/** Prometheus text exposition of the private registry. */
export async function metrics({ options }: RequestParts<unknown>): Promise<AdminReply> {
  const registry = options.metrics.registry;
  return { status: 200, text: await registry.metrics(), contentType: registry.contentType };
}

/** The OpenAPI description, built once. */
export async function openapi({ options }: RequestParts<unknown>): Promise<AdminReply> {
  return { status: 200, json: options.openapi };
}

/** The settings a client shapes its forms by: the page offers no expiry the server would refuse. */
export async function settings({ options }: RequestParts<unknown>): Promise<AdminReply> {
  const { maxTokenLifetimeMs, expiringNoticeMs } = options.settings;
  return {
    status: 200,
    json: {
      maxTokenLifetimeSeconds: maxTokenLifetimeMs === null ? null : maxTokenLifetimeMs / 1000,
      expiringNoticeSeconds: expiringNoticeMs / 1000,
      // The page's event filter reads them here: one list, the one webhooks send.
      eventTypes: EVENT_TYPES,
    },
  };
}

/**
 * The calling token as the page and `tollgate whoami` show it: its view, role and effective
 * rights per repository. Any valid token may ask (a repository token without admin included):
 * it learns nothing it could not learn by trying.
 */
export async function whoami({ caller, options }: RequestParts<unknown> & { caller: Caller }): Promise<AdminReply> {
  const { record, grants } = caller.identity;
  const scopes = record.kind === 'personal' && record.repository === ALL_REPOSITORIES ? [ALL_REPOSITORIES, ...Object.keys(grants ?? {})] : [record.repository];
  // A Map, not a plain object, while names are collected: repository names are user-controlled.
  const rights = new Map<string, Right[]>();
  for (const scope of scopes) {
    const held = effectiveRights(caller.identity, scope);
    if (held.length > 0 || scope === record.repository)
      rights.set(
        scope,
        RIGHTS.filter((right) => held.includes(right)),
      );
  }
  return {
    status: 200,
    json: { token: await options.tokens.viewFor(caller, record), role: caller.role, effectiveRights: Object.fromEntries(rights) },
  };
}
