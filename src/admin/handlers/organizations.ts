import { readJson } from '../body.js';
import type { AdminContext, AdminReply } from '../context.js';
import { createOrganizationBody, editOrganizationBody, organizationFilter, parseBody } from '../schemas.js';

// /v1/organizations (docs/organizations.md), and the `organization=` filter of the directory lists.

export async function createOrganization({ req, bodyLimit, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(createOrganizationBody, await readJson({ req, bodyLimit }));
  return { json: await options.organizations.create(caller, body.name, body.displayName) };
}

export async function listOrganizations({ caller, options }: AdminContext): Promise<AdminReply> {
  return { json: { items: await options.organizations.list(caller) } };
}

export async function getOrganization({ params, caller, options }: AdminContext): Promise<AdminReply> {
  return { json: await options.organizations.get(caller, params.name!) };
}

export async function editOrganization({ req, bodyLimit, params, caller, options }: AdminContext): Promise<AdminReply> {
  const body = parseBody(editOrganizationBody, await readJson({ req, bodyLimit }));
  return { json: await options.organizations.edit(caller, params.name!, body.displayName) };
}

export async function deleteOrganization({ params, caller, options }: AdminContext): Promise<AdminReply> {
  await options.organizations.delete(caller, params.name!);
  return { json: undefined };
}

/** The `organization=` of a directory list (users, teams, repositories); other query keys are refused as before. */
export function organizationQuery(query: URLSearchParams): string | undefined {
  return parseBody(organizationFilter, Object.fromEntries(query)).organization;
}
