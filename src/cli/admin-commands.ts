import QRCode from 'qrcode';
import type { TokenView } from '../tokens/record.js';
import { AdminClient } from './admin-client.js';
import { parseArgs, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { relativeTime, renderTable } from './table.js';

interface Command {
  usage: string;
  summary: string;
  options: OptionSpec;
  /** Number of positional arguments: exact, or [min, max]. */
  positional: number | [number, number];
  run(args: ParsedArgs, client: AdminClient, out: NodeJS.WritableStream): Promise<void>;
}

const COMMON = ['admin-url'];
const LIST_OPTIONS = ['q', 'status', 'kind', 'repository', 'user', 'sort', 'limit', 'cursor'];

const enc = encodeURIComponent;
const json = (out: NodeJS.WritableStream, value: unknown) => out.write(JSON.stringify(value, null, 2) + '\n');

function tokenRows(tokens: TokenView[], now: number): string[][] {
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
  ]);
}
const TOKEN_HEADER = ['id', 'name', 'kind', 'repository', 'user', 'rights', 'status', 'prefix', 'created', 'expires', 'last used'];

function showToken(out: NodeJS.WritableStream, token: TokenView): void {
  out.write(renderTable(TOKEN_HEADER, tokenRows([token], Date.now())));
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

/** A command on one token id that answers with the token. */
function oneToken(usage: string, summary: string, method: 'GET' | 'POST', suffix: string): Command {
  return {
    usage,
    summary,
    options: { flags: ['json'], valued: COMMON },
    positional: 1,
    async run(args, client, out) {
      const token = await client.call<TokenView>(method, `/v1/tokens/${enc(args.positional[0]!)}${suffix}`);
      if (args.flags.has('json')) return void json(out, token);
      showToken(out, token);
    },
  };
}

const COMMANDS: Record<string, Record<string, Command>> = {
  token: {
    create: {
      usage: 'token create --name N --repository R|* --rights a,b [--kind repository|personal] [--user U] [--expires-in 30d | --expires-at ISO]',
      summary: 'make a token; prints its secret once (and a QR code for a personal token)',
      options: { flags: ['json'], valued: [...COMMON, 'name', 'repository', 'rights', 'kind', 'user', 'expires-in', 'expires-at'] },
      positional: 0,
      async run(args, client, out) {
        for (const required of ['name', 'repository', 'rights']) {
          if (!args.values.has(required)) throw new UsageError(`--${required} is required`);
        }
        const body = {
          kind: args.values.get('kind') ?? 'repository',
          name: args.values.get('name'),
          repository: args.values.get('repository'),
          ...(args.values.has('user') ? { user: args.values.get('user') } : {}),
          rights: rightsList(args.values.get('rights')!),
          ...expiryFrom(args),
        };
        const created = await client.call<{ token: TokenView; secret: string; connectUri?: string }>('POST', '/v1/tokens', body);
        if (args.flags.has('json')) return void json(out, created);
        showToken(out, created.token);
        out.write(`\nSecret (shown once, store it now):\n${created.secret}\n`);
        if (created.connectUri) {
          out.write(`\nScan to register a device (${created.connectUri.replace(created.secret, '…')}):\n`);
          out.write(await QRCode.toString(created.connectUri, { type: 'terminal', small: true }));
        }
      },
    },
    list: {
      usage: 'token list [--q TEXT] [--status S] [--kind K] [--repository R] [--user U] [--sort f,-g] [--limit N] [--cursor C]',
      summary: 'list and search tokens',
      options: { flags: ['json'], valued: [...COMMON, ...LIST_OPTIONS] },
      positional: 0,
      async run(args, client, out) {
        const query = new URLSearchParams();
        for (const name of LIST_OPTIONS) if (args.values.has(name)) query.set(name, args.values.get(name)!);
        const page = await client.call<{ items: TokenView[]; total: number; nextCursor: string | null }>('GET', `/v1/tokens?${query}`);
        if (args.flags.has('json')) return void json(out, page);
        out.write(renderTable(TOKEN_HEADER, tokenRows(page.items, Date.now())));
        out.write(`\n${page.items.length} of ${page.total}${page.nextCursor ? `; next page: --cursor ${page.nextCursor}` : ''}\n`);
      },
    },
    show: oneToken('token show ID', 'one token (never its secret)', 'GET', ''),
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
          for (const id of result.deleted) out.write(`deleted ${id}\n`);
          for (const { id, reason } of result.failed) out.write(`not deleted ${id}: ${reason}\n`);
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
        const history = await client.call<{ items: Array<{ at: string; actor: string; action: string; changes: Record<string, { from: unknown; to: unknown }> }> }>(
          'GET',
          `/v1/tokens/${enc(args.positional[0]!)}/history`,
        );
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
    list: {
      usage: 'user list',
      summary: 'list users and their grants',
      options: { flags: ['json'], valued: COMMON },
      positional: 0,
      async run(args, client, out) {
        const page = await client.call<{ items: UserView[] }>('GET', '/v1/users');
        showUsers(out, page.items, args.flags.has('json'), page);
      },
    },
    show: {
      usage: 'user show NAME',
      summary: 'one user',
      options: { flags: ['json'], valued: COMMON },
      positional: 1,
      async run(args, client, out) {
        const user = await client.call<UserView>('GET', `/v1/users/${enc(args.positional[0]!)}`);
        showUsers(out, [user], args.flags.has('json'), user);
      },
    },
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
    delete: {
      usage: 'user delete NAME',
      summary: 'delete a user, revoking their personal tokens',
      options: { valued: COMMON },
      positional: 1,
      async run(args, client, out) {
        await client.call('DELETE', `/v1/users/${enc(args.positional[0]!)}`);
        out.write(`deleted user ${args.positional[0]}\n`);
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
    list: {
      usage: 'repo list',
      summary: 'list repositories',
      options: { flags: ['json'], valued: COMMON },
      positional: 0,
      async run(args, client, out) {
        const page = await client.call<{ items: RepositoryView[] }>('GET', '/v1/repositories');
        showRepositories(out, page.items, args.flags.has('json'), page);
      },
    },
    delete: {
      usage: 'repo delete NAME',
      summary: 'delete a repository that has no active tokens',
      options: { valued: COMMON },
      positional: 1,
      async run(args, client, out) {
        await client.call('DELETE', `/v1/repositories/${enc(args.positional[0]!)}`);
        out.write(`deleted repository ${args.positional[0]}\n`);
      },
    },
  },
};

interface UserView {
  name: string;
  grants: Record<string, string[]>;
  createdAt: string;
  updatedAt: string;
}

interface RepositoryView {
  name: string;
  createdAt: string;
  createdBy: string;
}

function showUsers(out: NodeJS.WritableStream, users: UserView[], asJson: boolean, raw: unknown): void {
  if (asJson) return void json(out, raw);
  const now = Date.now();
  const grants = (g: Record<string, string[]>) =>
    Object.entries(g)
      .map(([repo, rights]) => `${repo}=${rights.join(',')}`)
      .join(' ') || '-';
  out.write(renderTable(['name', 'grants', 'created', 'updated'], users.map((u) => [u.name, grants(u.grants), relativeTime(u.createdAt, now), relativeTime(u.updatedAt, now)])));
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
  const commands = COMMANDS[group];
  if (!commands) return '';
  const common = '\nOptions for every command: --admin-url URL (or TOLLGATE_ADMIN_URL; default http://127.0.0.1:9090), --json.\nThe token comes from TOLLGATE_TOKEN. Exit status: 0 ok, 1 refused or failed, 2 bad usage.\n';
  if (action && commands[action]) return `Usage: tollgate ${commands[action].usage}\n\n${commands[action].summary}\n${common}`;
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
  const command = COMMANDS[group]?.[action];
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
  const client = AdminClient.fromEnvironment(args.values.get('admin-url'), env);
  try {
    await command.run(args, client, out);
  } catch (err) {
    if (err instanceof CliFailureMarker) return 1;
    if (err instanceof UsageError && err.usage === undefined) throw new UsageError(err.message, adminHelp(group, action));
    throw err;
  }
  return 0;
}
