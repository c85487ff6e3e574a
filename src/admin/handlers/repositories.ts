import { readJson } from '../body.js';
import { administers } from '../caller.js';
import { conflict, forbidden } from '../errors.js';
import { createRepositoryBody, parseBody } from '../schemas.js';
import type { AdminContext, AdminReply } from '../server.js';
import { ALL_REPOSITORIES } from '../../tokens/record.js';

/** POST /v1/repositories: only a `*` admin adds repositories. */
export async function createRepository({ req, caller, options }: AdminContext): Promise<AdminReply> {
  if (!administers(caller, ALL_REPOSITORIES)) throw forbidden('only an admin of * can create repositories');
  const body = parseBody(createRepositoryBody, await readJson(req));
  const record = { name: body.name, createdAt: options.clock.now(), createdBy: caller.actor };
  if (!(await options.store.createRepository(record))) throw conflict(`repository ${body.name} already exists`);
  return { status: 201, json: view(record) };
}

/** GET /v1/repositories: those the caller administers. */
export async function listRepositories({ caller, options }: AdminContext): Promise<AdminReply> {
  if (caller.adminScope === null) throw forbidden('this token holds no admin right');
  const all = await options.store.listRepositories();
  const items = all.filter((repo) => administers(caller, repo.name)).sort((a, b) => a.name.localeCompare(b.name));
  return { status: 200, json: { items: items.map(view) } };
}

const view = (record: { name: string; createdAt: number; createdBy: string }) => ({
  name: record.name,
  createdAt: new Date(record.createdAt).toISOString(),
  createdBy: record.createdBy,
});
