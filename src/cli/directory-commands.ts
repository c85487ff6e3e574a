import type { RepositoryView, TeamView, UserView } from '../admin/schemas.js';
import { UsageError } from './args.js';
import { type Command, enc, grantsFrom, NO_NAMES } from './command.js';
import { confirm } from './confirm.js';
import { describeLimits, limitsFromArgs } from './limits-options.js';
import { orgQuery } from './organization-commands.js';
import { emit, type Output } from './output.js';
import { relativeTime, renderTable } from './table.js';
import { visible } from './terminal-text.js';
import { showHistory } from './token-commands.js';

const NAMED: Command['outputs'] = ['table', 'json', 'yaml', 'name'];

const grantsText = (g: Record<string, string[]>) =>
  Object.entries(g)
    .map(([repo, rights]) => `${repo}=${rights.join(',')}`)
    .join(' ') || '-';

/** `withTeams` (user show) adds the teams and the effective grants. */
function showUsers(o: Output, users: UserView[], raw: unknown, withTeams = false): void {
  const now = Date.now();
  emit(
    o,
    raw,
    () =>
      withTeams
        ? renderTable(
            ['name', 'grants', 'teams', 'effective grants', 'created', 'updated'],
            users.map((u) => [
              u.name,
              grantsText(u.grants),
              (u.teams ?? []).join(',') || '-',
              grantsText(u.effectiveGrants ?? {}),
              relativeTime(u.createdAt, now),
              relativeTime(u.updatedAt, now),
            ]),
            { width: o.width },
          )
        : renderTable(
            ['name', 'grants', 'created', 'updated'],
            users.map((u) => [u.name, grantsText(u.grants), relativeTime(u.createdAt, now), relativeTime(u.updatedAt, now)]),
            {
              width: o.width,
            },
          ),
    () => users.map((u) => u.name),
  );
}

/**
 * The organization column only where some row is outside `default`: a Tollgate with one tenant
 * never sees it (as kubectl shows NAMESPACE only across namespaces); --json always has the field.
 */
const showsOrganization = (items: ReadonlyArray<{ organization: string }>): boolean => items.some((item) => item.organization !== 'default');

function showTeams(o: Output, teams: TeamView[], raw: unknown): void {
  const now = Date.now();
  const org = showsOrganization(teams);
  emit(
    o,
    raw,
    () =>
      renderTable(
        ['name', ...(org ? ['organization'] : []), 'members', 'grants', 'created', 'updated'],
        teams.map((t) => [
          t.name,
          ...(org ? [t.organization] : []),
          t.members.join(',') || '-',
          grantsText(t.grants),
          relativeTime(t.createdAt, now),
          relativeTime(t.updatedAt, now),
        ]),
        { width: o.width },
      ),
    () => teams.map((t) => t.name),
  );
}

function showRepositories(o: Output, repos: RepositoryView[], raw: unknown): void {
  const now = Date.now();
  // The default limits column only where some repository has them.
  const hasLimits = repos.some((r) => r.limits);
  const org = showsOrganization(repos);
  const header = ['name', ...(org ? ['organization'] : []), 'created', 'by', ...(hasLimits ? ['default limits'] : [])];
  const rows = repos.map((r) => [
    r.name,
    ...(org ? [r.organization] : []),
    relativeTime(r.createdAt, now),
    r.createdBy,
    ...(hasLimits ? [describeLimits(r.limits)] : []),
  ]);
  emit(
    o,
    raw,
    () => renderTable(header, rows, { width: o.width }),
    () => repos.map((r) => r.name),
  );
}

/** `GROUP list`: the collection. */
function listCommand<T>(group: string, summary: string, path: string, show: (o: Output, items: T[], raw: unknown) => void): Command {
  return {
    usage: `${group} list`,
    summary,
    options: ['org'],
    outputs: NAMED,
    positional: 0,
    examples: [`tollgate ${group} list`, `tollgate ${group} list --org acme -o yaml`],
    async run({ args, client, o }) {
      const page = await client.call<{ items: T[] }>('GET', `${path}${orgQuery(args.values)}`);
      show(o, page.items, page);
    },
  };
}

/** `GROUP show NAME`: one item of the collection. */
function showCommand<T>(group: string, summary: string, example: string, path: string, show: (o: Output, item: T) => void): Command {
  return {
    usage: `${group} show NAME`,
    summary,
    options: [],
    outputs: NAMED,
    positional: 1,
    examples: [`tollgate ${group} show ${example}`],
    async run({ args, client, o }) {
      show(o, await client.call<T>('GET', `${path}/${enc(args.positional[0]!)}`));
    },
  };
}

/** `GROUP delete NAME`: asks first on a terminal, then says what it deleted. */
function deleteCommand(group: string, summary: string, example: string, path: string, noun: string, consequence: string): Command {
  return {
    usage: `${group} delete NAME`,
    summary: `${summary}; asks first on a terminal`,
    options: ['yes'],
    outputs: ['table', 'name'],
    positional: 1,
    examples: [`tollgate ${group} delete ${example}`, `tollgate ${group} delete ${example} --yes`],
    async run({ args, client, o, prompter }) {
      const name = args.positional[0]!;
      await confirm(async () => `Delete ${noun} ${visible(JSON.stringify(name))}${consequence}?`, args.flags.has('yes'), prompter);
      await client.call('DELETE', `${path}/${enc(name)}`);
      o.write(o.format === 'name' ? `${visible(name)}\n` : `deleted ${noun} ${visible(name)}\n`);
    },
  };
}

export const USER_COMMANDS: Record<string, Command> = {
  create: {
    usage: 'user create NAME',
    summary: 'add a user with grants',
    options: ['grant'],
    outputs: NAMED,
    positional: 1,
    examples: ['tollgate user create alice --grant sensors=query,stream --grant billing=query'],
    async run({ args, client, o }) {
      const user = await client.call<UserView>('POST', '/v1/users', { name: args.positional[0], grants: grantsFrom(args) });
      showUsers(o, [user], user);
    },
  },
  list: listCommand<UserView>('user', 'list users and their grants', '/v1/users', showUsers),
  show: showCommand<UserView>(
    'user',
    "one user: own grants, teams, and effective grants (own ∪ the teams', what personal tokens meet)",
    'alice',
    '/v1/users',
    (o, item) => showUsers(o, [item], item, true),
  ),
  edit: {
    usage: 'user edit NAME (--grant REPOSITORY=RIGHT[,RIGHT]… | --no-grants) [--disabled true|false]',
    summary:
      "replace a user's grants with those given (--grant, repeatable), or remove them all (--no-grants), and/or disable or enable the user (--disabled); applies to their personal tokens and workload identities at once",
    options: ['grant', 'no-grants', 'disabled'],
    outputs: NAMED,
    positional: 1,
    examples: ['tollgate user edit alice --grant sensors=query', 'tollgate user edit alice --no-grants', 'tollgate user edit alice --disabled true'],
    async run({ args, client, o }) {
      const disabled = args.values.get('disabled');
      const hasGrants = args.lists.has('grant') || args.flags.has('no-grants');
      // No --grant used to send {} and wipe every grant without a word.
      if (!hasGrants && disabled === undefined)
        throw new UsageError('give the new grants (--grant, repeatable), or --no-grants to remove them all, or --disabled true|false');
      if (args.lists.has('grant') && args.flags.has('no-grants')) throw new UsageError('give --grant or --no-grants, not both');
      const body = { ...(hasGrants ? { grants: grantsFrom(args) } : {}), ...(disabled === undefined ? {} : { disabled: disabled === 'true' }) };
      const user = await client.call<UserView>('PATCH', `/v1/users/${enc(args.positional[0]!)}`, body);
      showUsers(o, [user], user);
    },
  },
  delete: deleteCommand('user', 'delete a user, revoking their personal tokens', 'alice', '/v1/users', 'user', ' (revokes their personal tokens)'),
};

export const TEAM_COMMANDS: Record<string, Command> = {
  create: {
    usage: 'team create NAME',
    summary: "add a team (in one organization: --org, default default); its members' personal tokens hold its grants at once",
    options: ['member', 'grant', 'org'],
    outputs: NAMED,
    positional: 1,
    examples: [
      'tollgate team create platform --member alice --member bob --grant sensors=query,stream',
      'tollgate team create acme-ops --org acme --grant @acme=query',
    ],
    async run({ args, client, o }) {
      const org = args.values.get('org');
      const team = await client.call<TeamView>('POST', '/v1/teams', {
        name: args.positional[0],
        members: args.lists.get('member') ?? [],
        grants: grantsFrom(args),
        ...(org === undefined ? {} : { organization: org }),
      });
      showTeams(o, [team], team);
    },
  },
  list: listCommand<TeamView>('team', 'list teams, their members and grants', '/v1/teams', showTeams),
  show: showCommand<TeamView>('team', 'one team: members and grants', 'platform', '/v1/teams', (o, item) => showTeams(o, [item], item)),
  edit: {
    usage: 'team edit NAME',
    summary: 'replace the members (--member…, or none with --no-members) and/or the grants (--grant…, or none with --no-grants); what is not given stays',
    options: ['member', 'no-members', 'grant', 'no-grants'],
    outputs: NAMED,
    positional: 1,
    examples: ['tollgate team edit platform --member alice', 'tollgate team edit platform --grant sensors=query --no-members'],
    async run({ args, client, o }) {
      const body: { members?: string[]; grants?: Record<string, string[]> } = {};
      const members = args.lists.get('member');
      if (members && args.flags.has('no-members')) throw new UsageError('give --member or --no-members, not both');
      if (args.lists.has('grant') && args.flags.has('no-grants')) throw new UsageError('give --grant or --no-grants, not both');
      if (members || args.flags.has('no-members')) body.members = members ?? [];
      if (args.lists.has('grant') || args.flags.has('no-grants')) body.grants = grantsFrom(args);
      if (body.members === undefined && body.grants === undefined)
        throw new UsageError('nothing to change: give --member, --no-members, --grant or --no-grants');
      const team = await client.call<TeamView>('PATCH', `/v1/teams/${enc(args.positional[0]!)}`, body);
      showTeams(o, [team], team);
    },
  },
  delete: deleteCommand(
    'team',
    'delete a team; its members lose its grants at once (its history stays)',
    'platform',
    '/v1/teams',
    'team',
    ' (its members lose its grants)',
  ),
  history: {
    usage: 'team history NAME',
    summary: 'every change of a team, oldest first (kept after delete)',
    options: [],
    outputs: NO_NAMES,
    positional: 1,
    examples: ['tollgate team history platform'],
    async run(context) {
      await showHistory(context, `/v1/teams/${enc(context.args.positional[0]!)}/history`);
    },
  },
};

export const REPO_COMMANDS: Record<string, Command> = {
  create: {
    usage: 'repo create NAME',
    summary: 'add a repository (in one organization for ever: --org, default default)',
    options: ['org'],
    outputs: NAMED,
    positional: 1,
    examples: ['tollgate repo create sensors', 'tollgate repo create acme-sensors --org acme'],
    async run({ args, client, o }) {
      const org = args.values.get('org');
      const repo = await client.call<RepositoryView>('POST', '/v1/repositories', {
        name: args.positional[0],
        ...(org === undefined ? {} : { organization: org }),
      });
      showRepositories(o, [repo], repo);
    },
  },
  list: listCommand<RepositoryView>('repo', 'list repositories', '/v1/repositories', showRepositories),
  limits: {
    usage: 'repo limits NAME',
    summary: "set the default limits of the repository's tokens that have none of their own (--no-limits removes them)",
    options: ['rate', 'quota', 'streams', 'no-limits'],
    outputs: NAMED,
    positional: 1,
    examples: ['tollgate repo limits sensors --rate 100/1s --quota 50GiB/1d', 'tollgate repo limits sensors --no-limits'],
    async run({ args, client, o }) {
      const limits = limitsFromArgs(args);
      if (limits === undefined) throw new UsageError('nothing to set: give --rate, --quota, --streams or --no-limits');
      const repo = await client.call<RepositoryView>('PATCH', `/v1/repositories/${enc(args.positional[0]!)}`, { limits });
      showRepositories(o, [repo], repo);
    },
  },
  delete: deleteCommand('repo', 'delete a repository that has no active tokens', 'sensors', '/v1/repositories', 'repository', ''),
};
