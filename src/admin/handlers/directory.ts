import { readJson } from '../body.js';
import { createRepositoryBody, createUserBody, editUserBody, parseBody } from '../schemas.js';
import type { AdminContext, AdminReply } from '../server.js';

export async function createUser({ req, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(createUserBody, await readJson(req));
  return { status: 201, json: await options.directory.createUser(caller, body.name, body.grants) };
}

export async function listUsers({ caller, options }: AdminContext): Promise<AdminReply> {
  return { status: 200, json: { items: await options.directory.listUsers(caller) } };
}

export async function getUser({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { status: 200, json: await options.directory.getUser(caller, params.name!) };
}

export async function editUser({ req, params, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(editUserBody, await readJson(req));
  return { status: 200, json: await options.directory.setGrants(caller, params.name!, body.grants) };
}

export async function deleteUser({ params, caller, options }: AdminContext): Promise<AdminReply> {
  await options.directory.deleteUser(caller, params.name!);
  return { status: 204, json: undefined };
}

export async function createRepository({ req, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(createRepositoryBody, await readJson(req));
  return { status: 201, json: await options.directory.createRepository(caller, body.name) };
}

export async function listRepositories({ caller, options }: AdminContext): Promise<AdminReply> {
  return { status: 200, json: { items: await options.directory.listRepositories(caller) } };
}

export async function deleteRepository({ params, caller, options }: AdminContext): Promise<AdminReply> {
  await options.directory.deleteRepository(caller, params.name!);
  return { status: 204, json: undefined };
}
