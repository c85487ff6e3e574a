import { readJson } from '../body.js';
import { forbidden } from '../errors.js';
import { createTokenBody, parseBody } from '../schemas.js';
import type { AdminContext, AdminReply } from '../server.js';

/** POST /v1/tokens: 201 with the secret, shown this once. */
export async function createToken({ req, caller, options }: AdminContext): Promise<AdminReply> {
  if (caller.adminScope === null) throw forbidden('this token holds no admin right');
  const body = parseBody(createTokenBody, await readJson(req));
  const created = await options.tokens.create(caller, body);
  return { status: 201, json: created };
}

/** GET /v1/tokens/{id}: one token, never its secret. */
export async function getToken({ params, caller, options }: AdminContext): Promise<AdminReply> {
  if (caller.adminScope === null) throw forbidden('this token holds no admin right');
  return { status: 200, json: await options.tokens.get(caller, params.id!) };
}
