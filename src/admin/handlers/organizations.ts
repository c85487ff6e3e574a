import type { Caller } from '../caller.js';
import type { AdminReply } from '../context.js';
import type { RequestParts } from '../route-entry.js';
import type { CreateOrganizationBody, EditOrganizationBody } from '../schemas.js';

// /v1/organizations (docs/organizations.md).

type Named = RequestParts<{ name: string }> & { caller: Caller };

export async function createOrganization({
  body,
  caller,
  options,
}: RequestParts<unknown> & { caller: Caller; body: CreateOrganizationBody }): Promise<AdminReply> {
  return { json: await options.organizations.create(caller, body.name, body.displayName) };
}

export async function listOrganizations({ caller, options }: RequestParts<unknown> & { caller: Caller }): Promise<AdminReply> {
  return { json: { items: await options.organizations.list(caller) } };
}

export async function getOrganization({ params, caller, options }: Named): Promise<AdminReply> {
  return { json: await options.organizations.get(caller, params.name) };
}

export async function editOrganization({ body, params, caller, options }: Named & { body: EditOrganizationBody }): Promise<AdminReply> {
  return { json: await options.organizations.edit(caller, params.name, body.displayName) };
}

export async function deleteOrganization({ params, caller, options }: Named): Promise<AdminReply> {
  await options.organizations.delete(caller, params.name);
  return { json: undefined };
}
