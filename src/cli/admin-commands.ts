import QRCode from 'qrcode';
import { parseDuration } from '../config/duration.js';
import type { RepositoryView, TeamView, TokenView, UserView } from '../admin/schemas.js';
import { AdminClient } from './admin-client.js';
import { parseArgs, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { CliFailure } from './failure.js';
import { PartialLeakReport, readSecrets, reportLeaked } from './leak-report.js';
import { relativeTime, renderTable } from './table.js';
import { terminalJson, visible } from './terminal-text.js';

/** `GROUP list`: the collection, as a table or --json. */
function listCommand<T>(usage: string, summary: string, path: string, show: (out: NodeJS.WritableStream, items: T[], asJson: boolean, raw: unknown) => void): Command {
  return {
    usage,
    summary,
    options: { flags: ['json'], valued: COMMON },
    positional: 0,
    async run(args, client, out) {
      const page = await client.call<{ items: T[] }>('GET', path);
      show(out, page.items, args.flags.has('json'), page);
    },
  };
}

/** `GROUP show NAME`: one item of the collection. */
function showCommand<T>(usage: string, summary: string, path: string, show: (out: NodeJS.WritableStream, item: T, asJson: boolean) => void): Command {
  return {
    usage,
    summary,
    options: { flags: ['json'], valued: COMMON },
    positional: 1,
    async run(args, client, out) {
      show(out, await client.call<T>('GET', `${path}/${enc(args.positional[0]!)}`), args.flags.has('json'));
    },
  };
}

/** `GROUP delete NAME`: says what it deleted. */
function deleteCommand(group: string, summary: string, path: string, noun = group): Command {
  return {
    usage: `${group} delete NAME`,
    summary,
    options: { valued: COMMON },
    positional: 1,
    async run(args, client, out) {
      await client.call('DELETE', `${path}/${enc(args.positional[0]!)}`);
      out.write(`deleted ${noun} ${visible(args.positional[0]!)}\n`);
    },
  };
}

interface Command {
  usage: string;
  summary: string;
  options: OptionSpec;
  /** Number of positional arguments: exact, or [min, max]. */
  positional: number | [number, number];
  run(args: ParsedArgs, client: AdminClient, out: NodeJS.WritableStream): Promise<void>;
  /** The route needs no token: run without TOLLGATE_TOKEN (and send none). */
  tokenOptional?: boolean;
}

const COMMON = ['admin-url'];
const LIST_OPTIONS = ['q', 'status', 'kind', 'repository', 'user', 'sort', 'limit', 'cursor'];
/** CLI option -> query parameter, where the names differ. */
const LIST_RENAMED: Record<string, string> = { expiring: 'expiresWithin' };

const enc = encodeURIComponent;
const json = (out: NodeJS.WritableStream, value: unknown) => out.write(terminalJson(value) + '\n');

/** The table's rows; `wide` adds where and with what the token was last used, and its parent. */
function tokenRows(tokens: TokenView[], now: number, wide = false): string[][] {
  return tokens.map((t) => [
    t.id,
    t.name,
    t.kind,
    t.repository,
    t.user ?? '-',
    t.rights.join(','),
    t.status,
    t.prefix,
    `${relativeTime(t.createdAt, now)} by ${t.createdBy}`,
    relativeTime(t.expiresAt, now),
    relativeTime(t.lastUsedAt, now),
    ...(wide ? [t.lastUsedAt ?? '-', t.lastUsedIp ?? '-', t.lastUsedUserAgent ?? '-', t.parentId ?? '-'] : []),
  ]);
}
const TOKEN_HEADER = ['id', 'name', 'kind', 'repository', 'user', 'rights', 'status', 'prefix', 'created', 'expires', 'last used'];
const WIDE_HEADER = [...TOKEN_HEADER, 'last used at', 'last ip', 'last user agent', 'parent'];

function showToken(out: NodeJS.WritableStream, token: TokenView, wide = false): void {
  out.write(renderTable(wide ? WIDE_HEADER : TOKEN_HEADER, tokenRows([token], Date.now(), wide)));
}

interface CreatedToken {
  token: TokenView;
  secret: string;
  connectUri?: string;
}

/** The new token, then its secret once (and a QR code to scan for a personal token): `token create` and `token roll`. */
async function showCreated(out: NodeJS.WritableStream, created: CreatedToken): Promise<void> {
  showToken(out, created.token);
  out.write(`\nSecret (shown once, store it now):\n${visible(created.secret)}\n`);
  if (created.connectUri) {
    out.write(`\nScan to register a device (${visible(created.connectUri.replace(created.secret, '…'))}):\n`);
    out.write(await QRCode.toString(created.connectUri, { type: 'terminal', small: true }));
  }
}

interface HistoryItem {
  at: string;
  actor: string;
  action: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

/** A token's or a team's history, oldest first. */
async function showHistory(client: AdminClient, path: string, args: ParsedArgs, out: NodeJS.WritableStream): Promise<void> {
  const history = await client.call<{ items: HistoryItem[] }>('GET', path);
  if (args.flags.has('json')) return void json(out, history);
  const now = Date.now();
  const rows = history.items.map((e) => [
    e.at,
    relativeTime(e.at, now),
    e.actor,
    e.action,
    Object.entries(e.changes)
      .map(([field, c]) => `${field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`)
      .join('; '),
  ]);
  out.write(renderTable(['at', 'when', 'actor', 'action', 'changes'], rows));
}

const rightsList = (text: string) => text.split(',').map((r) => r.trim()).filter(Boolean);

/** `--grant sensors=query,stream` (repeatable) -> `{sensors: ['query', 'stream']}`. */
function grantsFrom(args: ParsedArgs): Record<string, string[]> {
  const grants: Record<string, string[]> = {};
  for (const grant of args.lists.get('grant') ?? []) {
    const eq = grant.indexOf('=');
    if (eq <= 0) throw new UsageError(`--grant: expected REPOSITORY=RIGHT[,RIGHT], got ${JSON.stringify(grant)}`);
    grants[grant.slice(0, eq)] = rightsList(grant.slice(eq + 1));
  }
  return grants;
}

function expiryFrom(args: ParsedArgs): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (args.values.has('expires-in')) body.expiresIn = args.values.get('expires-in');
  if (args.values.has('expires-at')) body.expiresAt = args.values.get('expires-at');
  if (args.flags.has('no-expiry')) body.expiresAt = null;
  return body;
}

/** When the old secret of a roll stops working, from the old token as read after the roll. */
function oldSecretEnds(id: string, previous: TokenView | undefined, overlap: string | undefined): string {
  const old = `The old secret (token ${id})`;
  if (previous === undefined) {
    return (parseDuration(overlap ?? '0s') ?? 0) === 0 ? `${old} was revoked: it stopped working now.` : `${old} keeps working for at most ${overlap}.`;
  }
  if (previous.status === 'revoked') return `${old} was revoked: it stopped working now.`;
  if (previous.status === 'expired' || previous.expiresAt === null) return `${old} is ${previous.status}.`;
  return `${old} stops working at ${previous.expiresAt} (${relativeTime(previous.expiresAt, Date.now())}).`;
}

/** A command on one token id that answers with the token. */
function oneToken(usage: string, summary: string, method: 'GET' | 'POST', suffix: string, wide = false): Command {
  return {
    usage,
    summary,
    options: { flags: ['json'], valued: COMMON },
    positional: 1,
    async run(args, client, out) {
      const token = await client.call<TokenView>(method, `/v1/tokens/${enc(args.positional[0]!)}${suffix}`);
      if (args.flags.has('json')) return void json(out, token);
      showToken(out, token, wide);
    },
  };
}

const COMMANDS: Record<string, Record<string, Command>> = {
  token: {
    create: {
      usage:
        'token create --name N --rights a,b [--repository R|*] [--kind repository|personal] [--user U] [--expires-in 30d | --expires-at ISO]',
      summary:
        'make a token; prints its secret once (and a QR code for a personal token). A repository token needs --repository; a personal token without one covers all its user\'s repositories (*)',
      options: { flags: ['json'], valued: [...COMMON, 'name', 'repository', 'rights', 'kind', 'user', 'expires-in', 'expires-at'] },
      positional: 0,
      async run(args, client, out) {
        const kind = args.values.get('kind') ?? 'repository';
        // In the order of the usage line; --repository only for a repository token.
        for (const required of ['name', ...(kind === 'repository' ? ['repository'] : []), 'rights']) {
          if (args.values.has(required)) continue;
          if (required !== 'repository') throw new UsageError(`--${required} is required`);
          throw new UsageError("--repository is required for a repository token (only a personal token may leave it out: it then covers all its user's repositories)");
        }
        const body = {
          kind,
          name: args.values.get('name'),
          ...(args.values.has('repository') ? { repository: args.values.get('repository') } : {}),
          ...(args.values.has('user') ? { user: args.values.get('user') } : {}),
          rights: rightsList(args.values.get('rights')!),
          ...expiryFrom(args),
        };
        const created = await client.call<CreatedToken>('POST', '/v1/tokens', body);
        if (args.flags.has('json')) return void json(out, created);
        await showCreated(out, created);
      },
    },
    roll: {
      usage: 'token roll ID [--overlap 24h]',
      summary:
        'rotate: a new secret (a new token with the same name, rights and remaining lifetime), printed once; the old secret keeps working for the overlap (default 0s: revoked at once, at most 30d)',
      options: { flags: ['json'], valued: [...COMMON, 'overlap'] },
      positional: 1,
      async run(args, client, out) {
        const id = args.positional[0]!;
        const overlap = args.values.get('overlap');
        if (overlap !== undefined && parseDuration(overlap) === undefined) {
          throw new UsageError(`--overlap: expected a duration such as 0s, 1h or 24h, got ${JSON.stringify(overlap)}`);
        }
        const created = await client.call<CreatedToken>('POST', `/v1/tokens/${enc(id)}/roll`, overlap === undefined ? {} : { overlap });
        // The old token as it is now: revoked, or expiring at the earlier of its own expiry and now + overlap.
        const previous = await client.call<TokenView>('GET', `/v1/tokens/${enc(id)}`).catch((err: unknown) => {
          if (err instanceof CliFailure) return undefined;
          throw err;
        });
        if (args.flags.has('json')) return void json(out, { ...created, previous: previous ?? null });
        await showCreated(out, created);
        out.write(`\n${visible(oldSecretEnds(id, previous, overlap))}\n`);
      },
    },
    list: {
      usage:
        'token list [--q TEXT] [--status S] [--kind K] [--repository R] [--user U] [--expiring 7d] [--sort f,-g] [--limit N] [--cursor C] [--wide]',
      summary: 'list and search tokens; --expiring 7d: active tokens that expire within 7 days; --wide adds last use (time, address, User-Agent) and parent',
      options: { flags: ['json', 'wide'], valued: [...COMMON, ...LIST_OPTIONS, ...Object.keys(LIST_RENAMED)] },
      positional: 0,
      async run(args, client, out) {
        const query = new URLSearchParams();
        for (const name of [...LIST_OPTIONS, ...Object.keys(LIST_RENAMED)]) {
          if (args.values.has(name)) query.set(LIST_RENAMED[name] ?? name, args.values.get(name)!);
        }
        const page = await client.call<{ items: TokenView[]; total: number; nextCursor: string | null }>('GET', `/v1/tokens?${query}`);
        if (args.flags.has('json')) return void json(out, page);
        const wide = args.flags.has('wide');
        out.write(renderTable(wide ? WIDE_HEADER : TOKEN_HEADER, tokenRows(page.items, Date.now(), wide)));
        out.write(`\n${visible(`${page.items.length} of ${page.total}${page.nextCursor ? `; next page: --cursor ${page.nextCursor}` : ''}`)}\n`);
      },
    },
    show: oneToken('token show ID', 'one token (never its secret), with its last use (time, address, User-Agent) and parent', 'GET', '', true),
    edit: {
      usage: 'token edit ID [--name N] [--rights a,b] [--expires-in 30d | --expires-at ISO | --no-expiry]',
      summary: 'change name, rights or expiry',
      options: { flags: ['json', 'no-expiry'], valued: [...COMMON, 'name', 'rights', 'expires-in', 'expires-at'] },
      positional: 1,
      async run(args, client, out) {
        const body: Record<string, unknown> = { ...expiryFrom(args) };
        if (args.values.has('name')) body.name = args.values.get('name');
        if (args.values.has('rights')) body.rights = rightsList(args.values.get('rights')!);
        const token = await client.call<TokenView>('PATCH', `/v1/tokens/${enc(args.positional[0]!)}`, body);
        if (args.flags.has('json')) return void json(out, token);
        showToken(out, token);
      },
    },
    revoke: oneToken('token revoke ID', 'revoke (it stops working on every replica at once)', 'POST', '/revoke'),
    restore: oneToken('token restore ID', 'make a revoked token active again', 'POST', '/restore'),
    delete: {
      usage: 'token delete ID [ID…]',
      summary: 'delete revoked tokens (their history stays)',
      options: { flags: ['json'], valued: COMMON },
      positional: [1, 500],
      async run(args, client, out) {
        const result = await client.call<{ deleted: string[]; failed: Array<{ id: string; reason: string }> }>('POST', '/v1/tokens/delete', {
          ids: args.positional,
        });
        if (args.flags.has('json')) json(out, result);
        else {
          for (const id of result.deleted) out.write(`deleted ${visible(id)}\n`);
          for (const { id, reason } of result.failed) out.write(`not deleted ${visible(id)}: ${visible(reason)}\n`);
        }
        if (result.failed.length > 0) throw new CliFailureMarker();
      },
    },
    history: {
      usage: 'token history ID',
      summary: 'every change, oldest first',
      options: { flags: ['json'], valued: COMMON },
      positional: 1,
      async run(args, client, out) {
        await showHistory(client, `/v1/tokens/${enc(args.positional[0]!)}/history`, args, out);
      },
    },
    leaked: {
      usage: 'token leaked [--file F]   (else the secrets on stdin, one per line)',
      summary: 'report leaked secrets: every active token among them is revoked; needs no TOLLGATE_TOKEN (holding a secret is the proof)',
      options: { flags: ['json'], valued: [...COMMON, 'file'] },
      positional: 0,
      tokenOptional: true,
      async run(args, client, out) {
        const secrets = await readSecrets(args.values.get('file'), process.stdin);
        if (secrets.length === 0) throw new UsageError('no secrets given: one per line, in --file F or on stdin');
        const said = (totals: { received: number; revoked: number }, partial: boolean) =>
          args.flags.has('json')
            ? json(out, { ...totals, complete: !partial })
            : out.write(`received ${totals.received}, revoked ${totals.revoked}${partial ? ` (of ${secrets.length} secrets; the rest were not reported)` : ''}\n`);
        try {
          said(await reportLeaked(client, secrets), false);
        } catch (err) {
          if (err instanceof PartialLeakReport && err.done.received > 0) said(err.done, true);
          throw err;
        }
      },
    },
  },
  user: {
    create: {
      usage: 'user create NAME [--grant REPOSITORY=RIGHT[,RIGHT]]…',
      summary: 'add a user with grants',
      options: { flags: ['json'], valued: COMMON, repeatable: ['grant'] },
      positional: 1,
      async run(args, client, out) {
        const user = await client.call('POST', '/v1/users', { name: args.positional[0], grants: grantsFrom(args) });
        showUsers(out, [user as UserView], args.flags.has('json'), user);
      },
    },
    list: listCommand<UserView>('user list', 'list users and their grants', '/v1/users', showUsers),
    show: showCommand<UserView>('user show NAME', "one user: own grants, teams, and effective grants (own ∪ the teams', what personal tokens meet)", '/v1/users', (out, item, asJson) => showUsers(out, [item], asJson, item, true)),
    edit: {
      usage: 'user edit NAME --grant REPOSITORY=RIGHT[,RIGHT]… (replaces every grant; no --grant removes them all)',
      summary: "replace a user's grants (applies to their personal tokens at once)",
      options: { flags: ['json'], valued: COMMON, repeatable: ['grant'] },
      positional: 1,
      async run(args, client, out) {
        const user = await client.call<UserView>('PATCH', `/v1/users/${enc(args.positional[0]!)}`, { grants: grantsFrom(args) });
        showUsers(out, [user], args.flags.has('json'), user);
      },
    },
    delete: deleteCommand('user', 'delete a user, revoking their personal tokens', '/v1/users'),
  },
  team: {
    create: {
      usage: 'team create NAME [--member USER]… [--grant REPOSITORY=RIGHT[,RIGHT]]…',
      summary: "add a team; its members' personal tokens hold its grants at once",
      options: { flags: ['json'], valued: COMMON, repeatable: ['member', 'grant'] },
      positional: 1,
      async run(args, client, out) {
        const team = await client.call<TeamView>('POST', '/v1/teams', {
          name: args.positional[0],
          members: args.lists.get('member') ?? [],
          grants: grantsFrom(args),
        });
        showTeams(out, [team], args.flags.has('json'), team);
      },
    },
    list: listCommand<TeamView>('team list', 'list teams, their members and grants', '/v1/teams', showTeams),
    show: showCommand<TeamView>('team show NAME', 'one team: members and grants', '/v1/teams', (out, item, asJson) => showTeams(out, [item], asJson, item)),
    edit: {
      usage: 'team edit NAME [--member USER]… [--no-members] [--grant REPOSITORY=RIGHT[,RIGHT]]… [--no-grants]',
      summary: 'replace the members (--member…, or none with --no-members) and/or the grants (--grant…, or none with --no-grants); what is not given stays',
      options: { flags: ['json', 'no-members', 'no-grants'], valued: COMMON, repeatable: ['member', 'grant'] },
      positional: 1,
      async run(args, client, out) {
        const body: { members?: string[]; grants?: Record<string, string[]> } = {};
        const members = args.lists.get('member');
        if (members && args.flags.has('no-members')) throw new UsageError('give --member or --no-members, not both');
        if (args.lists.has('grant') && args.flags.has('no-grants')) throw new UsageError('give --grant or --no-grants, not both');
        if (members || args.flags.has('no-members')) body.members = members ?? [];
        if (args.lists.has('grant') || args.flags.has('no-grants')) body.grants = grantsFrom(args);
        if (body.members === undefined && body.grants === undefined) {
          throw new UsageError('nothing to change: give --member, --no-members, --grant or --no-grants');
        }
        const team = await client.call<TeamView>('PATCH', `/v1/teams/${enc(args.positional[0]!)}`, body);
        showTeams(out, [team], args.flags.has('json'), team);
      },
    },
    delete: deleteCommand('team', 'delete a team; its members lose its grants at once (its history stays)', '/v1/teams'),
    history: {
      usage: 'team history NAME',
      summary: 'every change of a team, oldest first (kept after delete)',
      options: { flags: ['json'], valued: COMMON },
      positional: 1,
      async run(args, client, out) {
        await showHistory(client, `/v1/teams/${enc(args.positional[0]!)}/history`, args, out);
      },
    },
  },
  repo: {
    create: {
      usage: 'repo create NAME',
      summary: 'add a repository',
      options: { flags: ['json'], valued: COMMON },
      positional: 1,
      async run(args, client, out) {
        const repo = await client.call<RepositoryView>('POST', '/v1/repositories', { name: args.positional[0] });
        showRepositories(out, [repo], args.flags.has('json'), repo);
      },
    },
    list: listCommand<RepositoryView>('repo list', 'list repositories', '/v1/repositories', showRepositories),
    delete: deleteCommand('repo', 'delete a repository that has no active tokens', '/v1/repositories', 'repository'),
  },
};

const grantsText = (g: Record<string, string[]>) =>
  Object.entries(g)
    .map(([repo, rights]) => `${repo}=${rights.join(',')}`)
    .join(' ') || '-';

/** `withTeams` (user show) adds the teams and the effective grants. */
function showUsers(out: NodeJS.WritableStream, users: UserView[], asJson: boolean, raw: unknown, withTeams = false): void {
  if (asJson) return void json(out, raw);
  const now = Date.now();
  if (withTeams) {
    out.write(
      renderTable(
        ['name', 'grants', 'teams', 'effective grants', 'created', 'updated'],
        users.map((u) => [
          u.name,
          grantsText(u.grants),
          (u.teams ?? []).join(',') || '-',
          grantsText(u.effectiveGrants ?? {}),
          relativeTime(u.createdAt, now),
          relativeTime(u.updatedAt, now),
        ]),
      ),
    );
    return;
  }
  out.write(renderTable(['name', 'grants', 'created', 'updated'], users.map((u) => [u.name, grantsText(u.grants), relativeTime(u.createdAt, now), relativeTime(u.updatedAt, now)])));
}

function showTeams(out: NodeJS.WritableStream, teams: TeamView[], asJson: boolean, raw: unknown): void {
  if (asJson) return void json(out, raw);
  const now = Date.now();
  out.write(
    renderTable(
      ['name', 'members', 'grants', 'created', 'updated'],
      teams.map((t) => [t.name, t.members.join(',') || '-', grantsText(t.grants), relativeTime(t.createdAt, now), relativeTime(t.updatedAt, now)]),
    ),
  );
}

function showRepositories(out: NodeJS.WritableStream, repos: RepositoryView[], asJson: boolean, raw: unknown): void {
  if (asJson) return void json(out, raw);
  const now = Date.now();
  out.write(renderTable(['name', 'created', 'by'], repos.map((r) => [r.name, relativeTime(r.createdAt, now), r.createdBy])));
}

/** Thrown after output is written when part of the work failed: exit status 1, nothing more to say. */
export class CliFailureMarker extends Error {
  constructor() {
    super('');
    this.name = 'CliFailureMarker';
  }
}

/** Help for one group (`tollgate token --help`) or one command. */
export function adminHelp(group: string, action?: string): string {
  const commands = Object.hasOwn(COMMANDS, group) ? COMMANDS[group] : undefined;
  if (!commands) return '';
  const common = '\nOptions for every command: --admin-url URL (or TOLLGATE_ADMIN_URL; default http://127.0.0.1:9090), --json.\nThe token comes from TOLLGATE_TOKEN. Exit status: 0 ok, 1 refused or failed, 2 bad usage.\n';
  const command = action !== undefined && Object.hasOwn(commands, action) ? commands[action] : undefined;
  if (command) return `Usage: tollgate ${command.usage}\n\n${command.summary}\n${common}`;
  return `Usage: tollgate ${group} <command>\n\n${Object.values(commands).map((c) => `  tollgate ${c.usage}\n      ${c.summary}`).join('\n')}\n${common}`;
}

export const ADMIN_GROUPS = Object.keys(COMMANDS);

/** Runs `tollgate <group> <action> …` against the admin API. */
export async function runAdminCommand(group: string, argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === 'help') {
    out.write(adminHelp(group));
    return action === undefined ? 2 : 0;
  }
  // Own keys only: `tollgate token constructor` must be an unknown command, not Object's constructor.
  const commands = Object.hasOwn(COMMANDS, group) ? COMMANDS[group]! : undefined;
  const command = commands && Object.hasOwn(commands, action) ? commands[action] : undefined;
  if (!command) throw new UsageError(`unknown command "${group} ${action}"`, adminHelp(group));
  if (rest.includes('--help')) {
    out.write(adminHelp(group, action));
    return 0;
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(rest, command.options);
    const [min, max] = typeof command.positional === 'number' ? [command.positional, command.positional] : command.positional;
    if (args.positional.length < min || args.positional.length > max) {
      throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${args.positional.length}`);
    }
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message, adminHelp(group, action));
    throw err;
  }
  const client = AdminClient.fromEnvironment(args.values.get('admin-url'), env, command.tokenOptional);
  try {
    await command.run(args, client, out);
  } catch (err) {
    if (err instanceof CliFailureMarker) return 1;
    if (err instanceof UsageError && err.usage === undefined) throw new UsageError(err.message, adminHelp(group, action));
    throw err;
  }
  return 0;
}
