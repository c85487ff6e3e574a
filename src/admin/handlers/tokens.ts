import { parseDuration } from '../../config/duration.js';
import { effectiveLimits, LIMIT_NAMES } from '../../limits/limits.js';
import { budgetIdOf, iso } from '../../tokens/record.js';
import { readJson } from '../body.js';
import type { AdminContext, AdminReply } from '../context.js';
import { AdminError } from '../errors.js';
import { bulkDeleteBody, createTokenBody, editTokenBody, leakedBody, listTokensQuery, parseBody, rollBody, type UsageView } from '../schemas.js';
import { parseSort } from '../token-query.js';
import { viewOfHistory } from '../views.js';

/** The host a phone should reach: the one the admin request came to, without its port. */
function requestHost(context: AdminContext): string {
  const host = context.req.headers.host ?? 'localhost';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

export async function createToken(context: AdminContext): Promise<AdminReply> {
  const body = parseBody(createTokenBody, await readJson(context));
  return { json: await context.options.tokens.create(context.caller, body, requestHost(context)) };
}

export async function listTokens({ query, caller, options }: AdminContext): Promise<AdminReply> {
  const { expiresWithin, label, ...parsed } = parseBody(listTokensQuery, Object.fromEntries(query));
  const within = expiresWithin === undefined ? {} : { expiresBefore: options.clock.now() + parseDuration(expiresWithin)! };
  // `label=owner=team-a`: the first `=` ends the key.
  const byLabel = label === undefined ? {} : { label: { key: label.slice(0, label.indexOf('=')), value: label.slice(label.indexOf('=') + 1) } };
  const page = await options.tokens.list(caller, { ...parsed, ...within, ...byLabel, sort: parseSort(parsed.sort ?? null) });
  return { json: page };
}

export async function getToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: await options.tokens.get(caller, params.id!) };
}

export async function editToken({ req, bodyLimit, params, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(editTokenBody, await readJson({ req, bodyLimit }));
  return { json: await options.tokens.edit(caller, params.id!, body) };
}

export async function revokeToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: await options.tokens.revoke(caller, params.id!) };
}

export async function restoreToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: await options.tokens.restore(caller, params.id!) };
}

export async function deleteToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  await options.tokens.remove(caller, params.id!);
  return { json: undefined };
}

export async function bulkDeleteTokens({ req, bodyLimit, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(bulkDeleteBody, await readJson({ req, bodyLimit }));
  return { json: await options.tokens.removeMany(caller, body.ids) };
}

export async function tokenHistory({ params, caller, options }: AdminContext): Promise<AdminReply> {
  const entries = await options.tokens.history(caller, params.id!);
  return { json: viewOfHistory(entries) };
}

export async function rollToken(context: AdminContext): Promise<AdminReply> {
  const body = parseBody(rollBody, await readJsonOrEmpty(context));
  return { json: await context.options.tokens.roll(context.caller, context.params.id!, parseDuration(body.overlap)!, requestHost(context)) };
}

/** A roll may come with no body at all (no overlap). */
async function readJsonOrEmpty(context: AdminContext): Promise<unknown> {
  const length = context.req.headers['content-length'];
  const chunked = context.req.headers['transfer-encoding'] !== undefined;
  return (length === undefined || length === '0') && !chunked ? {} : readJson(context);
}

export async function reportLeaked(context: AdminContext): Promise<AdminReply> {
  const { req, options } = context;
  const address = req.socket.remoteAddress ?? 'unknown';
  // No token guards this route: the budget is asked before the body is read, then charged the rest.
  const spent = options.leakBudget.admit(address);
  if (spent !== undefined) throw leakRateLimited(spent);
  const body = parseBody(leakedBody, await readJson(context));
  const wait = options.leakBudget.spend(address, body.secrets.length - 1);
  if (wait !== undefined) throw leakRateLimited(wait);
  return { json: await options.tokens.reportLeaked(body.secrets) };
}

const leakRateLimited = (wait: number) =>
  AdminError.of('rate_limited', `leak reports are limited per client address; try again in ${wait} s`, {}, { 'retry-after': String(wait) });

/** What the token's limits have spent and have left in the current windows (docs/limits.md). */
export async function tokenUsage({ params, caller, options }: AdminContext): Promise<AdminReply> {
  // Read access to the token is what reading its usage needs (404 where it may not be seen).
  const token = await options.tokens.get(caller, params.id!);
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
