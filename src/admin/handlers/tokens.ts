import { readJson } from '../body.js';
import { bulkDeleteBody, createTokenBody, editTokenBody, listTokensQuery, parseBody } from '../schemas.js';
import type { AdminContext, AdminReply } from '../server.js';
import { parseSort } from '../token-query.js';

/** The host a phone should reach: the one the admin request came to, without its port. */
function requestHost(context: AdminContext): string {
  const host = context.req.headers.host ?? 'localhost';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

export async function createToken(context: AdminContext): Promise<AdminReply> {
  const body = parseBody(createTokenBody, await readJson(context.req));
  return { status: 201, json: await context.options.tokens.create(context.caller, body, requestHost(context)) };
}

export async function listTokens({ query, caller, options }: AdminContext): Promise<AdminReply> {
  const parsed = parseBody(listTokensQuery, Object.fromEntries(query));
  const page = await options.tokens.list(caller, { ...parsed, sort: parseSort(parsed.sort ?? null) });
  return { status: 200, json: page };
}

export async function getToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { status: 200, json: await options.tokens.get(caller, params.id!) };
}

export async function editToken({ req, params, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(editTokenBody, await readJson(req));
  return { status: 200, json: await options.tokens.edit(caller, params.id!, body) };
}

export async function revokeToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { status: 200, json: await options.tokens.revoke(caller, params.id!) };
}

export async function restoreToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { status: 200, json: await options.tokens.restore(caller, params.id!) };
}

export async function deleteToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  await options.tokens.remove(caller, params.id!);
  return { status: 204, json: undefined };
}

export async function bulkDeleteTokens({ req, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(bulkDeleteBody, await readJson(req));
  return { status: 200, json: await options.tokens.removeMany(caller, body.ids) };
}

export async function tokenHistory({ params, caller, options }: AdminContext): Promise<AdminReply> {
  const entries = await options.tokens.history(caller, params.id!);
  return { status: 200, json: { items: entries.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })) } };
}
