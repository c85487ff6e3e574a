import QRCode from 'qrcode';
import type { TokenView, UsageView } from '../admin/schemas.js';
import { parseDuration } from '../config/duration.js';
import { type ParsedArgs, UsageError } from './args.js';
import { ALL_FORMATS, type Command, type CommandContext, enc, expiryFrom, NO_NAMES, rightsList } from './command.js';
import { confirm } from './confirm.js';
import { CliFailure } from './failure.js';
import { changesText } from './history-text.js';
import { PartialLeakReport, readSecrets, reportLeaked } from './leak-report.js';
import { describeLimits, formatBytes, limitsFromArgs } from './limits-options.js';
import { cliDuration, labelsFrom } from './options.js';
import { emit, type Output, paintStatus } from './output.js';
import { absoluteTime, relativeTime, renderFields, renderTable } from './table.js';
import { visible } from './terminal-text.js';
import { describeToken, resolveTokenId } from './token-ref.js';
import { type ChartItem, usageChart } from './usage-chart.js';

/** Thrown after output is written when part of the work failed: exit status 1, nothing more to say. */
export class CliFailureMarker extends Error {
  constructor() {
    super('');
    this.name = 'CliFailureMarker';
  }
}

// The default columns fit 80 with a name and a repository of a dozen characters each. Ids and
// names (the token's, its repository's) are never cut: the next command takes them. When a row
// is too wide KIND goes first, then EXPIRES, STATUS and REPOSITORY (token show has them all).
const TOKEN_HEADER = ['id', 'name', 'kind', 'repository', 'status', 'expires'];
const WIDE_HEADER = [
  'id',
  'name',
  'kind',
  'repository',
  'user',
  'rights',
  'status',
  'prefix',
  'created',
  'expires',
  'last used',
  'last used at',
  'last ip',
  'last user agent',
  'parent',
  'limits',
];
const WHOLE = ['id', 'name', 'repository', 'parent'];

/** The table's rows: the default columns, or every one with `wide`. */
function tokenRows(tokens: readonly TokenView[], now: number, wide: boolean): string[][] {
  return tokens.map((t) =>
    wide
      ? [
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
          t.lastUsedAt ?? '-',
          t.lastUsedIp ?? '-',
          t.lastUsedUserAgent ?? '-',
          t.parentId ?? '-',
          describeLimits(t.limits),
        ]
      : [t.id, t.name, t.kind, t.repository, t.status, relativeTime(t.expiresAt, now)],
  );
}

const when = (iso: string | null, now: number, none: string) => (iso === null ? none : `${absoluteTime(iso)} (${relativeTime(iso, now)})`);

/** One token as `key: value` lines: everything the API shows of it, nothing cut. */
export function tokenFields(o: Output, token: TokenView, now = Date.now()): string {
  const t = token;
  const lastUse =
    t.lastUsedAt === null
      ? 'never used'
      : [when(t.lastUsedAt, now, ''), t.lastUsedIp ? `from ${t.lastUsedIp}` : '', t.lastUsedUserAgent ? `(${t.lastUsedUserAgent})` : '']
          .filter(Boolean)
          .join(' ');
  const fields: Array<[string, string]> = [
    ['id', t.id],
    ['name', t.name],
    ['kind', t.kind],
    ...(t.user ? [['user', t.user] as [string, string]] : []),
    [
      'repository',
      t.repository === '*'
        ? '* (all repositories)'
        : t.repository.startsWith('@')
          ? `${t.repository} (every repository of ${t.repository.slice(1)})`
          : t.repository,
    ],
    // Named only outside the default organization, like the list columns (directory-commands.ts).
    ...(t.organization && t.organization !== 'default' ? [['organization', t.organization] as [string, string]] : []),
    ['rights', t.rights.join(',') || '-'],
    [
      'status',
      t.status === 'rolled' && t.rolledTo
        ? `rolled into ${t.rolledTo}; this secret works until ${t.expiresAt ? absoluteTime(t.expiresAt) : 'its expiry'}`
        : t.status,
    ],
    ['prefix', `${t.prefix}…`],
    ['created', `${when(t.createdAt, now, '-')} by ${t.createdBy}`],
    ['expires', when(t.expiresAt, now, 'never')],
    ...(t.revokedAt ? [['revoked', when(t.revokedAt, now, '-')] as [string, string]] : []),
    ['last used', lastUse],
    ['parent', t.parentId ?? '-'],
    ['limits', describeLimits(t.limits)],
    [
      'labels',
      Object.entries(t.labels)
        .map(([key, value]) => `${key}: ${value}`)
        .join(', ') || '-',
    ],
    ['allow from', t.allowFrom.length > 0 ? t.allowFrom.join(', ') : 'any address'],
    ['self-rotate', t.selfRotate ? 'yes: it may roll itself' : 'no'],
  ];
  return renderFields(fields, { width: o.width, paint: (key, value) => (key === 'status' ? paintStatus(o, value, value) : value) });
}

/** One row per limit: what it allows, what is spent and left, and when its window resets. */
function usageTable(o: Output, usage: UsageView): string {
  if (usage.source === 'none') return `token ${visible(usage.id)} has no limits\n`;
  const now = Date.now();
  const amount = (name: string, value: number) => (name === 'quota' ? formatBytes(value) : String(value));
  const rows = (['rate', 'quota', 'streams'] as const).flatMap((name) => {
    const one = usage[name];
    if (one === undefined) return [];
    return [[name, amount(name, one.limit), amount(name, one.used), amount(name, one.left), one.resetsAt ? relativeTime(one.resetsAt, now) : '-']];
  });
  const from = usage.source === 'repository' ? "\n(the repository's default limits)\n" : '';
  return renderTable(['limit', 'of', 'used', 'left', 'resets'], rows, { width: o.width }) + from;
}

/** `token usage ID --history 7d`: the usage history as a bar chart (or the API's answer with --json). */
async function showUsageHistory(o: Output, client: CommandContext['client'], id: string, backMs: number, stepArg: string | undefined): Promise<void> {
  const step = stepArg === '1h' || stepArg === '1d' ? stepArg : backMs <= 2 * 86_400_000 ? '1h' : '1d';
  const to = Date.now();
  const query = new URLSearchParams({ from: new Date(to - backMs).toISOString(), to: new Date(to).toISOString(), step });
  const reply = await client.call<{ items: ChartItem[] }>('GET', `/v1/tokens/${enc(id)}/usage/history?${query}`);
  emit(
    o,
    reply,
    () => usageChart(reply.items, { width: o.width ?? 80, isTerminal: o.tty, step }),
    () => [],
  );
}

/** Tokens as a table that fits the terminal, the status in colour there. */
export function tokenTable(o: Output, tokens: readonly TokenView[], wide: boolean): string {
  return renderTable(wide ? WIDE_HEADER : TOKEN_HEADER, tokenRows(tokens, Date.now(), wide), {
    width: o.width,
    whole: WHOLE,
    optional: wide ? [] : ['kind'],
    spare: wide ? [] : ['expires', 'status', 'repository'],
    paint: (column, padded, cell) => (column === 'status' ? paintStatus(o, padded, cell) : padded),
  });
}

const showTokens = (o: Output, tokens: TokenView[], raw: unknown) =>
  emit(
    o,
    raw,
    (wide) => tokenTable(o, tokens, wide),
    () => tokens.map((t) => t.id),
  );

/** One token: `key: value` lines for table and wide alike. */
const showToken = (o: Output, token: TokenView) =>
  emit(
    o,
    token,
    () => tokenFields(o, token),
    () => [token.id],
  );

interface CreatedToken {
  token: TokenView;
  secret: string;
  connectUri?: string;
}

/** The new token, then its secret once (and a QR code to scan for a personal token): `token create` and `token roll`. */
async function showCreated(o: Output, created: CreatedToken): Promise<void> {
  o.write(tokenTable(o, [created.token], false));
  o.write(`\nSecret (shown once, store it now):\n${visible(created.secret)}\n`);
  if (created.connectUri) {
    o.write(`\nScan to register a device (${visible(created.connectUri.replace(created.secret, '…'))}):\n`);
    // The terminal renderer paints with ANSI colours; a pipe, NO_COLOR or a dumb terminal gets plain blocks.
    o.write(await QRCode.toString(created.connectUri, o.colour ? { type: 'terminal', small: true } : { type: 'utf8' }));
  }
}

interface HistoryItem {
  at: string;
  actor: string;
  action: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

/**
 * A history actor by name: a repository token acts as `token:<id>`, shown as `"its name" (id)`
 * when this caller may read it (the page does the same); a user is its name already.
 */
export async function actorNames(client: CommandContext['client'], actors: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const actor of new Set(actors)) {
    const id = /^token:([0-9a-f]{16})$/.exec(actor)?.[1];
    if (id === undefined) continue;
    const token = await client.call<TokenView>('GET', `/v1/tokens/${enc(id)}`).catch(() => undefined);
    if (token) names.set(actor, `"${token.name}" (${id.slice(0, 8)}…)`);
  }
  return names;
}

/** A token's or a team's history, oldest first: changes as sentences, actors by name. */
export async function showHistory({ client, o }: CommandContext, path: string): Promise<void> {
  const history = await client.call<{ items: HistoryItem[] }>('GET', path);
  const now = Date.now();
  const names =
    o.format === 'table' || o.format === 'wide'
      ? await actorNames(
          client,
          history.items.map((e) => e.actor),
        )
      : new Map<string, string>();
  const rows = history.items.map((e) => [
    absoluteTime(e.at),
    relativeTime(e.at, now),
    visible(names.get(e.actor) ?? e.actor),
    e.action,
    visible(changesText(e.changes)),
  ]);
  emit(
    o,
    history,
    () => renderTable(['at', 'when', 'actor', 'action', 'changes'], rows, { width: o.width }),
    () => [],
  );
}

/** When the old secret of a roll stops working, from the old token as read after the roll. */
function oldSecretEnds(id: string, previous: TokenView | undefined, overlap: string | undefined): string {
  const old = `The old secret (token ${id})`;
  if (previous === undefined) {
    return (parseDuration(overlap ?? '0s') ?? 0) === 0 ? `${old} was revoked: it stopped working now.` : `${old} keeps working for at most ${overlap}.`;
  }
  if (previous.status === 'revoked') return `${old} was revoked: it stopped working now.`;
  if (previous.status === 'expired' || previous.expiresAt === null) return `${old} is ${previous.status}.`;
  return `${old} stops working at ${absoluteTime(previous.expiresAt)} (${relativeTime(previous.expiresAt, Date.now())}).`;
}

/** The question before a roll: what the new secret is and what happens to the old one. */
function rollQuestion(token: TokenView, overlap: string | undefined): string {
  const ms = parseDuration(overlap ?? '0s') ?? 0;
  const old =
    ms === 0
      ? 'the old secret is revoked at once: every client still using it fails from now on (give --overlap 24h to keep it working while clients switch)'
      : `the old secret keeps working for ${overlap}, then stops`;
  return `Roll token ${describeToken(token)}? A new secret is printed once; ${old}`;
}

/** `--label`, `--allow-from` and `--self-rotate` as body fields (only those given). */
function boundsFromArgs(args: ParsedArgs): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (args.lists.has('label')) body.labels = labelsFrom(args.lists.get('label')!);
  if (args.lists.has('allow-from')) body.allowFrom = args.lists.get('allow-from');
  if (args.flags.has('self-rotate')) body.selfRotate = true;
  return body;
}

const TOKEN_REF = 'TOKEN';
const REF_HELP = 'TOKEN is an id, a unique id prefix, a secret prefix (tgr_AbCdEfGh) or an exact name.';

/** A command on one token that answers with the token; `ask` words the question of a destructive one. */
function oneToken(action: string, summary: string, method: 'GET' | 'POST', suffix: string, ask?: (token: TokenView) => string): Command {
  return {
    usage: `token ${action} ${TOKEN_REF}`,
    summary: `${summary}. ${REF_HELP}`,
    options: ask ? ['yes'] : [],
    outputs: ALL_FORMATS,
    positional: 1,
    examples: [`tollgate token ${action} ci-loader${ask ? ' --yes' : ''}`, `tollgate token ${action} tgr_AbCdEfGh -o json`],
    async run({ args, client, o, prompter }) {
      const id = await resolveTokenId(client, args.positional[0]!);
      if (ask) {
        await confirm(async () => ask(await client.call<TokenView>('GET', `/v1/tokens/${enc(id)}`)), args.flags.has('yes'), prompter);
      }
      const token = await client.call<TokenView>(method, `/v1/tokens/${enc(id)}${suffix}`);
      showToken(o, token);
    },
  };
}

/** Why a token was not deleted, and what to do about it. */
function whyNotDeleted(id: string, reason: string): string {
  if (reason === 'active') return `it is active; revoke it first: tollgate token revoke ${visible(id)}`;
  if (reason === 'not_found') return 'no such token (deleted already?)';
  if (reason === 'forbidden') return 'this token may not delete it (tollgate whoami shows what it may do)';
  return visible(reason);
}

export const TOKEN_COMMANDS: Record<string, Command> = {
  create: {
    usage: 'token create --name NAME --rights RIGHT[,RIGHT] [--repository REPOSITORY]',
    summary:
      "make a token; prints its secret once (and a QR code for a personal token). A repository token needs --repository; a personal token without one covers all its user's repositories (*)",
    options: [
      'name',
      'repository',
      'rights',
      'kind',
      'user',
      'expires-in',
      'expires-at',
      'lend',
      'rate',
      'quota',
      'streams',
      'label',
      'allow-from',
      'self-rotate',
    ],
    outputs: NO_NAMES,
    positional: 0,
    examples: [
      'tollgate token create --name ci-loader --repository sensors --rights stream,query --expires-in 2w',
      'tollgate token create --name scraper --repository sensors --rights query --rate 50/1s --quota 10GiB/1d --streams 2',
      'tollgate token create --kind personal --user alice --name phone --rights query --expires-at 2027-01-01',
      'tollgate token create --name job-42 --repository sensors --rights query --expires-in 1h --lend',
      'tollgate token create --name ci-loader --repository sensors --rights stream --label owner=team-a --allow-from 10.0.0.0/8 --self-rotate',
    ],
    async run({ args, client, o }) {
      const kind = args.values.get('kind') ?? 'repository';
      // In the order of the usage line; --repository only for a repository token.
      for (const required of ['name', ...(kind === 'repository' ? ['repository'] : []), 'rights']) {
        if (args.values.has(required)) continue;
        if (required !== 'repository') throw new UsageError(`--${required} is required`);
        throw new UsageError(
          "--repository is required for a repository token (only a personal token may leave it out: it then covers all its user's repositories)",
        );
      }
      if (kind === 'personal' && !args.values.has('user')) throw new UsageError('--user is required for a personal token');
      const body = {
        kind,
        name: args.values.get('name'),
        ...(args.values.has('repository') ? { repository: args.values.get('repository') } : {}),
        ...(args.values.has('user') ? { user: args.values.get('user') } : {}),
        rights: rightsList(args.values.get('rights')!),
        ...expiryFrom(args),
        ...(args.flags.has('lend') ? { lend: true } : {}),
        ...(limitsFromArgs(args) ? { limits: limitsFromArgs(args) } : {}),
        ...boundsFromArgs(args),
      };
      const created = await client.call<CreatedToken>('POST', '/v1/tokens', body);
      if (o.format === 'table') await showCreated(o, created);
      else
        emit(
          o,
          created,
          () => '',
          () => [],
        );
    },
  },
  list: {
    usage: 'token list',
    summary: 'list and search tokens; --expiring 7d: active tokens that expire within 7 days; -o wide adds last use (time, address, User-Agent) and parent',
    options: ['search', 'q', 'status', 'kind', 'repository', 'org', 'user', 'label', 'expiring', 'sort', 'limit', 'cursor', 'wide'],
    outputs: ALL_FORMATS,
    positional: 0,
    examples: [
      'tollgate token list --search ingest --sort repository,-createdAt',
      'tollgate token list --expiring 2w -o wide',
      'tollgate token list --status revoked -o name | xargs tollgate token delete --yes',
    ],
    async run({ args, client, o }) {
      const query = new URLSearchParams();
      if (args.values.has('search') && args.values.has('q')) throw new UsageError('give --search or --q (the same option), not both');
      const search = args.values.get('search') ?? args.values.get('q');
      if (search !== undefined) query.set('q', search);
      for (const name of ['status', 'kind', 'repository', 'user', 'sort', 'limit', 'cursor']) {
        if (args.values.has(name)) query.set(name, args.values.get(name)!);
      }
      if (args.values.has('org')) query.set('organization', args.values.get('org')!);
      if (args.values.has('expiring')) query.set('expiresWithin', cliDuration(args.values.get('expiring')!)!);
      const labels = args.lists.get('label') ?? [];
      if (labels.length > 1) throw new UsageError('token list takes one --label KEY=VALUE');
      if (labels.length === 1) query.set('label', labels[0]!);
      const page = await client.call<{ items: TokenView[]; total: number; nextCursor: string | null }>('GET', `/v1/tokens?${query}`);
      showTokens(o, page.items, page);
      if (o.format === 'table' || o.format === 'wide') {
        o.write(`\n${visible(`${page.items.length} of ${page.total}${page.nextCursor ? `; next page: --cursor ${page.nextCursor}` : ''}`)}\n`);
      }
    },
  },
  show: oneToken('show', 'one token (never its secret) as key: value lines, with its last use (time, address, User-Agent), parent and limits', 'GET', ''),
  edit: {
    usage: `token edit ${TOKEN_REF}`,
    summary: `change name, rights, expiry or limits (a limit given replaces that limit; the others stay). ${REF_HELP}`,
    options: [
      'name',
      'rights',
      'expires-in',
      'expires-at',
      'no-expiry',
      'rate',
      'quota',
      'streams',
      'no-limits',
      'label',
      'no-labels',
      'allow-from',
      'no-allow-from',
      'self-rotate',
      'no-self-rotate',
    ],
    outputs: ALL_FORMATS,
    positional: 1,
    examples: [
      'tollgate token edit ci-loader --rights query --expires-in 2w',
      'tollgate token edit 0123abcd --no-expiry',
      'tollgate token edit scraper --rate 10/1s',
      'tollgate token edit scraper --no-limits',
    ],
    async run({ args, client, o }) {
      const body: Record<string, unknown> = { ...expiryFrom(args) };
      if (args.values.has('name')) body.name = args.values.get('name');
      if (args.values.has('rights')) body.rights = rightsList(args.values.get('rights')!);
      Object.assign(body, boundsFromArgs(args));
      if (args.flags.has('no-labels')) body.labels = {};
      if (args.flags.has('no-allow-from')) body.allowFrom = [];
      if (args.flags.has('no-self-rotate')) body.selfRotate = false;
      const changesLimits = args.flags.has('no-limits') || ['rate', 'quota', 'streams'].some((name) => args.values.has(name));
      if (Object.keys(body).length === 0 && !changesLimits)
        throw new UsageError(
          'nothing to change: give --name, --rights, --expires-in, --expires-at, --no-expiry, --rate, --quota, --streams, --no-limits, --label, --allow-from or --self-rotate (or their --no- forms)',
        );
      const id = await resolveTokenId(client, args.positional[0]!);
      if (changesLimits) {
        const current = args.flags.has('no-limits') ? null : (await client.call<TokenView>('GET', `/v1/tokens/${enc(id)}`)).limits;
        body.limits = limitsFromArgs(args, current);
      }
      const token = await client.call<TokenView>('PATCH', `/v1/tokens/${enc(id)}`, body);
      showToken(o, token);
    },
  },
  roll: {
    usage: `token roll ${TOKEN_REF}`,
    summary: `rotate: a new secret (a new token with the same name, rights and remaining lifetime), printed once; the old secret keeps working for the overlap (default 0s: revoked at once, at most 30d); asks first on a terminal. ${REF_HELP}`,
    options: ['overlap', 'yes'],
    outputs: NO_NAMES,
    positional: 1,
    examples: ['tollgate token roll ci-loader --overlap 24h', 'tollgate token roll ci-loader --overlap 24h --yes'],
    async run({ args, client, o, prompter }) {
      const id = await resolveTokenId(client, args.positional[0]!);
      const overlap = args.values.has('overlap') ? cliDuration(args.values.get('overlap')!) : undefined;
      await confirm(async () => rollQuestion(await client.call<TokenView>('GET', `/v1/tokens/${enc(id)}`), overlap), args.flags.has('yes'), prompter);
      const created = await client.call<CreatedToken>('POST', `/v1/tokens/${enc(id)}/roll`, overlap === undefined ? {} : { overlap });
      // The old token as it is now: revoked, or expiring at the earlier of its own expiry and now + overlap.
      const previous = await client.call<TokenView>('GET', `/v1/tokens/${enc(id)}`).catch((err: unknown) => {
        if (err instanceof CliFailure) return undefined;
        throw err;
      });
      if (o.format !== 'table')
        return emit(
          o,
          { ...created, previous: previous ?? null },
          () => '',
          () => [],
        );
      await showCreated(o, created);
      o.write(`\n${visible(oldSecretEnds(id, previous, overlap))}\n`);
    },
  },
  revoke: oneToken(
    'revoke',
    'revoke (it stops working on every replica at once, and its open streams are closed); asks first on a terminal. token restore makes the same secret work again',
    'POST',
    '/revoke',
    (token) =>
      `Revoke token ${describeToken(token)}? It stops working at once and its open streams are closed; ` +
      `tollgate token restore ${token.id} makes the same secret work again (not the closed streams)`,
  ),
  restore: oneToken('restore', 'make a revoked token active again: the same secret works again', 'POST', '/restore'),
  delete: {
    usage: `token delete ${TOKEN_REF} [${TOKEN_REF}…]`,
    summary: `delete revoked tokens (their history stays); asks first on a terminal. ${REF_HELP}`,
    options: ['yes'],
    outputs: ['table', 'json', 'yaml', 'name'],
    positional: [1, 500],
    examples: ['tollgate token delete ci-loader', 'tollgate token delete 0123abcd 4567ef01 --yes'],
    async run({ args, client, o, prompter }) {
      const ids: string[] = [];
      for (const reference of args.positional) ids.push(await resolveTokenId(client, reference));
      await confirm(
        async () => {
          const found = await Promise.all(ids.map((id) => client.call<TokenView>('GET', `/v1/tokens/${enc(id)}`).catch(() => undefined)));
          const names = found.map((t, i) => (t ? describeToken(t) : ids[i]!));
          const what = ids.length === 1 ? `token ${names[0]}` : `${ids.length} tokens: ${names.join(', ')}`;
          return `Delete ${what}? No restore brings ${ids.length === 1 ? 'it' : 'them'} back (the history stays)`;
        },
        args.flags.has('yes'),
        prompter,
      );
      const result = await client.call<{ deleted: string[]; failed: Array<{ id: string; reason: string }> }>('POST', '/v1/tokens/delete', { ids });
      emit(
        o,
        result,
        () =>
          [
            ...result.deleted.map((id) => `deleted ${visible(id)}\n`),
            ...result.failed.map(({ id, reason }) => `not deleted ${visible(id)}: ${whyNotDeleted(id, reason)}\n`),
          ].join(''),
        () => result.deleted,
      );
      if (result.failed.length > 0) throw new CliFailureMarker();
    },
  },
  usage: {
    usage: `token usage ${TOKEN_REF}`,
    summary: `what the token's limits (its own, else its repository's defaults) have spent and have left in the current windows; with --history, its requests and bytes over that long as a bar chart. ${REF_HELP}`,
    options: ['history', 'step'],
    outputs: NO_NAMES,
    positional: 1,
    examples: [
      'tollgate token usage scraper',
      'tollgate token usage scraper --json',
      'tollgate token usage scraper --history 7d',
      'tollgate token usage scraper --history 24h --step 1h',
    ],
    async run({ args, client, o }) {
      const id = await resolveTokenId(client, args.positional[0]!);
      const history = args.values.get('history');
      if (history !== undefined) return showUsageHistory(o, client, id, parseDuration(cliDuration(history)!)!, args.values.get('step'));
      if (args.values.has('step')) throw new UsageError('--step goes with --history');
      const usage = await client.call<UsageView>('GET', `/v1/tokens/${enc(id)}/usage`);
      emit(
        o,
        usage,
        () => usageTable(o, usage),
        () => [],
      );
    },
  },
  history: {
    usage: `token history ${TOKEN_REF}`,
    summary: `every change, oldest first (kept after delete: give the full id then). ${REF_HELP}`,
    options: [],
    outputs: NO_NAMES,
    positional: 1,
    examples: ['tollgate token history ci-loader'],
    async run(context) {
      const id = await resolveTokenId(context.client, context.args.positional[0]!);
      await showHistory(context, `/v1/tokens/${enc(id)}/history`);
    },
  },
  leaked: {
    usage: 'token leaked [--file FILE]',
    summary:
      'report leaked secrets (from --file, else stdin, one a line): every active token among them is revoked; needs no TOLLGATE_TOKEN (holding a secret is the proof)',
    options: ['file'],
    outputs: NO_NAMES,
    positional: 0,
    tokenOptional: true,
    examples: ['tollgate token leaked --file leaked.txt', 'grep -o "tgr_[0-9A-Za-z]*" build.log | tollgate token leaked'],
    async run({ args, client, o, prompter }) {
      // The prompter's stdin is the process's own (main.ts); a test gives it one of its own.
      const secrets = await readSecrets(args.values.get('file'), prompter.stdin);
      if (secrets.length === 0) throw new UsageError('no secrets given: one per line, in --file F or on stdin');
      const said = (totals: { received: number; revoked: number }, partial: boolean) =>
        emit(
          o,
          { ...totals, complete: !partial },
          () => `received ${totals.received}, revoked ${totals.revoked}${partial ? ` (of ${secrets.length} secrets; the rest were not reported)` : ''}\n`,
          () => [],
        );
      try {
        said(await reportLeaked(client, secrets), false);
      } catch (err) {
        if (err instanceof PartialLeakReport && err.done.received > 0) said(err.done, true);
        throw err;
      }
    },
  },
};
