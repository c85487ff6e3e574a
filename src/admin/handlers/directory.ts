import { readJson } from '../body.js';
import type { AdminContext, AdminReply } from '../context.js';
import { createRepositoryBody, createTeamBody, createUserBody, editRepositoryBody, editTeamBody, editUserBody, parseBody } from '../schemas.js';
import { viewOfHistory } from '../views.js';
import { organizationQuery } from './organizations.js';

export async function createUser({ req, bodyLimit, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(createUserBody, await readJson({ req, bodyLimit }));
  return { json: await options.directory.createUser(caller, body.name, body.grants) };
}

export async function listUsers({ query, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: { items: await options.directory.listUsers(caller, organizationQuery(query)) } };
}

export async function getUser({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: await options.directory.getUser(caller, params.name!) };
}

export async function editUser({ req, bodyLimit, params, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(editUserBody, await readJson({ req, bodyLimit }));
  return { json: await options.directory.editUser(caller, params.name!, body) };
}

export async function deleteUser({ params, caller, options }: AdminContext): Promise<AdminReply> {
  await options.directory.deleteUser(caller, params.name!);
  return { json: undefined };
}

export async function createRepository({ req, bodyLimit, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(createRepositoryBody, await readJson({ req, bodyLimit }));
  return { json: await options.directory.createRepository(caller, body.name, body.organization) };
}

export async function listRepositories({ query, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: { items: await options.directory.listRepositories(caller, organizationQuery(query)) } };
}

export async function editRepository({ req, bodyLimit, params, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(editRepositoryBody, await readJson({ req, bodyLimit }));
  const view = await options.directory.editRepository(caller, params.name!, body.limits);
  // This replica applies the new defaults at once; the others within their next refresh (5 s).
  if (options.limits !== undefined) options.limits.setRepositoryDefaults(await options.store.listRepositories());
  return { json: view };
}

export async function deleteRepository({ params, caller, options }: AdminContext): Promise<AdminReply> {
  await options.directory.deleteRepository(caller, params.name!);
  return { json: undefined };
}

export async function createTeam({ req, bodyLimit, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(createTeamBody, await readJson({ req, bodyLimit }));
  return { json: await options.directory.createTeam(caller, body.name, body.members, body.grants, body.organization) };
}

export async function listTeams({ query, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: { items: await options.directory.listTeams(caller, organizationQuery(query)) } };
}

export async function getTeam({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: await options.directory.getTeam(caller, params.name!) };
}

export async function editTeam({ req, bodyLimit, params, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(editTeamBody, await readJson({ req, bodyLimit }));
  return { json: await options.directory.editTeam(caller, params.name!, body) };
}

export async function deleteTeam({ params, caller, options }: AdminContext): Promise<AdminReply> {
  await options.directory.deleteTeam(caller, params.name!);
  return { json: undefined };
}

export async function teamHistory({ params, caller, options }: AdminContext): Promise<AdminReply> {
  const entries = await options.directory.teamHistory(caller, params.name!);
  return { json: viewOfHistory(entries) };
}
