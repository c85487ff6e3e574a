import type { OrganizationView } from '../admin/schemas.js';
import { UsageError } from './args.js';
import { type Command, enc } from './command.js';
import { confirm } from './confirm.js';
import { emit, type Output } from './output.js';
import { relativeTime, renderTable } from './table.js';
import { visible } from './terminal-text.js';

// `tollgate org …` (docs/organizations.md): organizations, the tenants above repositories.

const NAMED: Command['outputs'] = ['table', 'json', 'yaml', 'name'];

function showOrganizations(o: Output, orgs: OrganizationView[], raw: unknown): void {
  const now = Date.now();
  emit(
    o,
    raw,
    () =>
      renderTable(
        ['name', 'display name', 'created', 'by'],
        orgs.map((org) => [org.name, org.displayName, relativeTime(org.createdAt, now), org.createdBy]),
        { width: o.width },
      ),
    () => orgs.map((org) => org.name),
  );
}

export const ORG_COMMANDS: Record<string, Command> = {
  create: {
    usage: 'org create NAME',
    summary: 'add an organization (admins of *); its repositories are made with repo create --org NAME',
    options: ['display-name'],
    outputs: NAMED,
    positional: 1,
    examples: ['tollgate org create acme --display-name "Acme Inc"'],
    async run({ args, client, o }) {
      const displayName = args.values.get('display-name');
      const org = await client.call<OrganizationView>('POST', '/v1/organizations', {
        name: args.positional[0],
        ...(displayName === undefined ? {} : { displayName }),
      });
      showOrganizations(o, [org], org);
    },
  },
  list: {
    usage: 'org list',
    summary: 'list the organizations this token administers (every one for an admin of *)',
    options: [],
    outputs: NAMED,
    positional: 0,
    examples: ['tollgate org list', 'tollgate org list -o name'],
    async run({ client, o }) {
      const page = await client.call<{ items: OrganizationView[] }>('GET', '/v1/organizations');
      showOrganizations(o, page.items, page);
    },
  },
  show: {
    usage: 'org show NAME',
    summary: 'one organization',
    options: [],
    outputs: NAMED,
    positional: 1,
    examples: ['tollgate org show acme'],
    async run({ args, client, o }) {
      const org = await client.call<OrganizationView>('GET', `/v1/organizations/${enc(args.positional[0]!)}`);
      showOrganizations(o, [org], org);
    },
  },
  edit: {
    usage: 'org edit NAME --display-name TEXT',
    summary: "change an organization's display name (its admins, or admins of *)",
    options: ['display-name'],
    outputs: NAMED,
    positional: 1,
    examples: ['tollgate org edit acme --display-name "ACME Corporation"'],
    async run({ args, client, o }) {
      const displayName = args.values.get('display-name');
      if (displayName === undefined) throw new UsageError('nothing to change: give --display-name');
      const org = await client.call<OrganizationView>('PATCH', `/v1/organizations/${enc(args.positional[0]!)}`, { displayName });
      showOrganizations(o, [org], org);
    },
  },
  delete: {
    usage: 'org delete NAME',
    summary: 'delete an organization that holds no repositories (admins of *); asks first on a terminal',
    options: ['yes'],
    outputs: ['table', 'name'],
    positional: 1,
    examples: ['tollgate org delete acme', 'tollgate org delete acme --yes'],
    async run({ args, client, o, prompter }) {
      const name = args.positional[0]!;
      await confirm(async () => `Delete organization ${visible(JSON.stringify(name))}?`, args.flags.has('yes'), prompter);
      await client.call('DELETE', `/v1/organizations/${enc(name)}`);
      o.write(o.format === 'name' ? `${visible(name)}\n` : `deleted organization ${visible(name)}\n`);
    },
  },
};

/** `--org NAME` on a list command: the query it adds (`organization=`), or nothing. */
export function orgQuery(values: ReadonlyMap<string, string>): string {
  const org = values.get('org');
  return org === undefined ? '' : `?organization=${encodeURIComponent(org)}`;
}
