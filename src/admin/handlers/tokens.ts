import type { IncomingMessage } from 'node:http';
import { parseDuration } from '../../config/duration.js';
import { effectiveLimits, LIMIT_NAMES } from '../../limits/limits.js';
import { budgetIdOf, iso } from '../../tokens/record.js';
import type { Caller } from '../caller.js';
import type { AdminReply } from '../context.js';
import { AdminError } from '../errors.js';
import type { RequestParts } from '../route-entry.js';
import type { BulkDeleteBody, CreateTokenBody, EditTokenBody, LeakedBody, ListTokensQuery, RollBody, UsageView } from '../schemas.js';
import { parseSort } from '../token-query.js';
import { viewOfHistory } from '../views.js';

type Called = RequestParts<unknown> & { caller: Caller };
type OnToken = RequestParts<{ id: string }> & { caller: Caller };

/** The host a phone should reach: the one the admin request came to, without its port. */
function requestHost(req: IncomingMessage): string {
  const host = req.headers.host ?? 'localhost';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

export async function createToken({ req, body, caller, options }: Called & { body: CreateTokenBody }): Promise<AdminReply> {
  return { json: await options.tokens.create(caller, body, requestHost(req)) };
}

export async function listTokens({ query, caller, options }: Called & { query: ListTokensQuery }): Promise<AdminReply> {
  const { expiresWithin, label, ...parsed } = query;
  const within = expiresWithin === undefined ? {} : { expiresBefore: options.clock.now() + parseDuration(expiresWithin)! };
  // `label=owner=team-a`: the first `=` ends the key.
  const byLabel = label === undefined ? {} : { label: { key: label.slice(0, label.indexOf('=')), value: label.slice(label.indexOf('=') + 1) } };
  const page = await options.tokens.list(caller, { ...parsed, ...within, ...byLabel, sort: parseSort(parsed.sort ?? null) });
  return { json: page };
}

export async function getToken({ params, caller, options }: OnToken): Promise<AdminReply> {
  return { json: await options.tokens.get(caller, params.id) };
}

export async function editToken({ body, params, caller, options }: OnToken & { body: EditTokenBody }): Promise<AdminReply> {
  return { json: await options.tokens.edit(caller, params.id, body) };
}

export async function revokeToken({ params, caller, options }: OnToken): Promise<AdminReply> {
  return { json: await options.tokens.revoke(caller, params.id) };
}

export async function restoreToken({ params, caller, options }: OnToken): Promise<AdminReply> {
  return { json: await options.tokens.restore(caller, params.id) };
}

export async function deleteToken({ params, caller, options }: OnToken): Promise<AdminReply> {
  await options.tokens.remove(caller, params.id);
  return { json: undefined };
}

export async function bulkDeleteTokens({ body, caller, options }: Called & { body: BulkDeleteBody }): Promise<AdminReply> {
  return { json: await options.tokens.removeMany(caller, body.ids) };
}

export async function tokenHistory({ params, caller, options }: OnToken): Promise<AdminReply> {
  const entries = await options.tokens.history(caller, params.id);
  return { json: viewOfHistory(entries) };
}

export async function rollToken({ req, body, params, caller, options }: OnToken & { body: RollBody }): Promise<AdminReply> {
  return { json: await options.tokens.roll(caller, params.id, parseDuration(body.overlap)!, requestHost(req)) };
}

/** No token guards the leak report: the client address's budget is asked before the body is read. */
export function admitLeakReport({ req, options }: RequestParts<unknown>): void {
  const spent = options.leakBudget.admit(clientAddress(req));
  if (spent !== undefined) throw leakRateLimited(spent);
}

/** Then charged the rest of the secrets the body holds. */
export async function reportLeaked({ req, body, options }: RequestParts<unknown> & { body: LeakedBody }): Promise<AdminReply> {
  const wait = options.leakBudget.spend(clientAddress(req), body.secrets.length - 1);
  if (wait !== undefined) throw leakRateLimited(wait);
  return { json: await options.tokens.reportLeaked(body.secrets) };
}

const clientAddress = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';

const leakRateLimited = (wait: number) =>
  AdminError.of('rate_limited', `leak reports are limited per client address; try again in ${wait} s`, {}, { 'retry-after': String(wait) });

/** What the token's limits have spent and have left in the current windows (docs/limits.md). */
export async function tokenUsage({ params, caller, options }: OnToken): Promise<AdminReply> {
  // Read access to the token is what reading its usage needs (404 where it may not be seen).
  const token = await options.tokens.get(caller, params.id);
  const repository = token.limits === null ? await options.store.getRepository(token.repository) : undefined;
  const limits = effectiveLimits(token.limits, repository?.limits);
  const source = limits === undefined ? 'none' : token.limits !== null && limits === token.limits ? 'token' : 'repository';
  if (limits === undefined || options.limits === undefined) return { json: { id: token.id, limits: null, source: 'none' } satisfies UsageView };
  const now = options.clock.now();
  // Counted under its budget id: a rolled token's counters are those it carried over.
  const record = await options.store.getToken(token.id);
  const usage = await options.limits.usage(record === undefined ? token.id : budgetIdOf(record), limits, now);
  const view: UsageView = { id: token.id, limits, source };
  for (const name of LIMIT_NAMES) {
    const one = usage[name];
    if (one === undefined) continue;
    view[name] = {
      limit: one.limit,
      used: one.used,
      left: one.left,
      ...(one.windowStart !== undefined ? { windowStart: iso(one.windowStart), resetsAt: iso(one.resetsAt!) } : {}),
    };
  }
  return { json: view };
}
