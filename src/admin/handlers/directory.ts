import type { Caller } from '../caller.js';
import type { AdminReply } from '../context.js';
import type { RequestParts } from '../route-entry.js';
import type { CreateRepositoryBody, CreateTeamBody, CreateUserBody, EditRepositoryBody, EditTeamBody, EditUserBody, OrganizationFilter } from '../schemas.js';
import { viewOfHistory } from '../views.js';

type Named = RequestParts<{ name: string }> & { caller: Caller };
type Listed = RequestParts<unknown> & { caller: Caller; query: OrganizationFilter };

export async function createUser({ body, caller, options }: RequestParts<unknown> & { caller: Caller; body: CreateUserBody }): Promise<AdminReply> {
  return { json: await options.directory.createUser(caller, body.name, body.grants) };
}

export async function listUsers({ query, caller, options }: Listed): Promise<AdminReply> {
  return { json: { items: await options.directory.listUsers(caller, query.organization) } };
}

export async function getUser({ params, caller, options }: Named): Promise<AdminReply> {
  return { json: await options.directory.getUser(caller, params.name) };
}

export async function editUser({ body, params, caller, options }: Named & { body: EditUserBody }): Promise<AdminReply> {
  return { json: await options.directory.editUser(caller, params.name, body) };
}

export async function deleteUser({ params, caller, options }: Named): Promise<AdminReply> {
  await options.directory.deleteUser(caller, params.name);
  return { json: undefined };
}

export async function createRepository({ body, caller, options }: RequestParts<unknown> & { caller: Caller; body: CreateRepositoryBody }): Promise<AdminReply> {
  return { json: await options.directory.createRepository(caller, body.name, body.organization) };
}

export async function listRepositories({ query, caller, options }: Listed): Promise<AdminReply> {
  return { json: { items: await options.directory.listRepositories(caller, query.organization) } };
}

export async function editRepository({ body, params, caller, options }: Named & { body: EditRepositoryBody }): Promise<AdminReply> {
  const view = await options.directory.editRepository(caller, params.name, body.limits);
  // This replica applies the new defaults at once; the others within their next refresh (5 s).
  if (options.limits !== undefined) options.limits.setRepositoryDefaults(await options.store.listRepositories());
  return { json: view };
}

export async function deleteRepository({ params, caller, options }: Named): Promise<AdminReply> {
  await options.directory.deleteRepository(caller, params.name);
  return { json: undefined };
}

export async function createTeam({ body, caller, options }: RequestParts<unknown> & { caller: Caller; body: CreateTeamBody }): Promise<AdminReply> {
  return { json: await options.directory.createTeam(caller, body.name, body.members, body.grants, body.organization) };
}

export async function listTeams({ query, caller, options }: Listed): Promise<AdminReply> {
  return { json: { items: await options.directory.listTeams(caller, query.organization) } };
}

export async function getTeam({ params, caller, options }: Named): Promise<AdminReply> {
  return { json: await options.directory.getTeam(caller, params.name) };
}

export async function editTeam({ body, params, caller, options }: Named & { body: EditTeamBody }): Promise<AdminReply> {
  return { json: await options.directory.editTeam(caller, params.name, body) };
}

export async function deleteTeam({ params, caller, options }: Named): Promise<AdminReply> {
  await options.directory.deleteTeam(caller, params.name);
  return { json: undefined };
}

export async function teamHistory({ params, caller, options }: Named): Promise<AdminReply> {
  const entries = await options.directory.teamHistory(caller, params.name);
  return { json: viewOfHistory(entries) };
}
