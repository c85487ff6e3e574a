import { parseDuration } from '../config/duration.js';
import { parseCidr } from '../http/address-bounds.js';
import { parseQuotaOption, parseRateOption } from '../limits/limits.js';
import { RIGHTS } from '../tokens/record.js';

/** A parsed limit option is an object; a string is what was wrong. */
const limitCheck = (parsed: object | string | undefined) => (typeof parsed === 'string' ? parsed : undefined);

/**
 * Every option of every command, once: its kind, what it takes, what it allows and an example.
 * The parser checks values against this, `--help` prints it, and shell completion offers it, so
 * the three cannot drift apart.
 */
export interface OptionDef {
  kind: 'flag' | 'value' | 'list';
  short?: string;
  /** The value's placeholder in help (`N`, `DURATION`). */
  value?: string;
  help: string;
  /** The only values allowed (help lists them, completion offers them). */
  choices?: readonly string[];
  /** Why a value is wrong, or undefined (for values no list can hold: durations, dates). */
  check?: (value: string) => string | undefined;
  example?: string;
}

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const WEEK = /^(\d+(?:\.\d+)?)w$/;

/**
 * A duration as the CLI takes it: the server's units (`250ms`, `30s`, `5m`, `12h`, `30d`) plus
 * weeks (`2w`), sent on as days; undefined when it is no duration.
 */
export function cliDuration(text: string): string | undefined {
  const week = WEEK.exec(text.trim());
  if (week) return `${Number(week[1]) * 7}d`;
  return parseDuration(text) === undefined ? undefined : text.trim();
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** `2027-01-01` (the start of that day, UTC) or an ISO 8601 date-time; undefined when neither. */
export function cliDateTime(text: string): string | undefined {
  if (DATE_ONLY.test(text)) return Number.isNaN(Date.parse(`${text}T00:00:00Z`)) ? undefined : `${text}T00:00:00Z`;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) || Number.isNaN(Date.parse(text))) return undefined;
  return text;
}

const duration = (examples: string) => (value: string) =>
  cliDuration(value) === undefined ? `expected a duration such as ${examples} (units ms, s, m, h, d, w), got ${JSON.stringify(value)}` : undefined;

const rightsCheck = (value: string) => {
  const rights = value.split(',').map((r) => r.trim());
  const bad = rights.filter((r) => !(RIGHTS as readonly string[]).includes(r));
  if (bad.length > 0 || rights.length === 0)
    return `expected rights from ${RIGHTS.join(', ')} (comma separated), got ${JSON.stringify(bad.join(',') || value)}`;
  return undefined;
};

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const grantCheck = (value: string) => {
  const eq = value.indexOf('=');
  if (eq <= 0) return `expected REPOSITORY=RIGHT[,RIGHT] such as sensors=query,stream, got ${JSON.stringify(value)}`;
  const repository = value.slice(0, eq);
  const bare = repository.startsWith('@') ? repository.slice(1) : repository;
  if (repository !== '*' && !NAME.test(bare)) return `${JSON.stringify(repository)} is not a repository name or @organization (a-z, 0-9, . _ -)`;
  return rightsCheck(value.slice(eq + 1));
};

const LABEL_KEY = /^[a-z0-9][a-z0-9._/-]{0,62}$/;
const labelCheck = (value: string) => {
  const eq = value.indexOf('=');
  if (eq <= 0 || !LABEL_KEY.test(value.slice(0, eq)))
    return `expected KEY=VALUE with a key of a-z, 0-9, . _ / - such as owner=team-a, got ${JSON.stringify(value)}`;
  return undefined;
};
const cidrCheck = (value: string) =>
  parseCidr(value) === undefined ? `expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32, got ${JSON.stringify(value)}` : undefined;

/** `--label k=v` options as a labels object. */
export function labelsFrom(values: readonly string[]): Record<string, string> {
  return Object.fromEntries(values.map((value) => [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)]));
}

export const SORT_FIELDS = ['name', 'user', 'repository', 'kind', 'status', 'createdAt', 'expiresAt', 'lastUsedAt'];

export const OPTIONS: ReadonlyMap<string, OptionDef> = new Map<string, OptionDef>([
  ['help', { kind: 'flag', short: 'h', help: 'show this help' }],
  [
    'config',
    { kind: 'value', value: 'FILE', help: 'the YAML configuration (else TOLLGATE_CONFIG, else config/tollgate.yaml)', example: 'config/tollgate.yaml' },
  ],
  [
    'role',
    {
      kind: 'value',
      value: 'ROLE',
      help: 'what this process runs (else TOLLGATE_ROLE, else the role key, else all)',
      choices: ['all', 'proxy', 'control'],
      example: 'proxy',
    },
  ],
  ['admin-url', { kind: 'value', value: 'URL', help: 'the admin API (else TOLLGATE_ADMIN_URL, else http://127.0.0.1:9090)', example: 'http://127.0.0.1:9090' }],
  ['output', { kind: 'value', short: 'o', value: 'FORMAT', help: 'how to print the answer', choices: OUTPUT_FORMATS, example: 'json' }],
  ['json', { kind: 'flag', help: 'same as -o json' }],
  ['wide', { kind: 'flag', help: 'same as -o wide' }],
  ['yes', { kind: 'flag', short: 'y', help: 'go ahead without asking first (needed when stdin is not a terminal)' }],
  ['name', { kind: 'value', value: 'NAME', help: "the token's name", example: 'ci-loader' }],
  [
    'repository',
    { kind: 'value', value: 'REPOSITORY', help: 'a repository name, @ORGANIZATION for every repository of one, or * for all', example: 'sensors' },
  ],
  [
    'org',
    {
      kind: 'value',
      value: 'ORGANIZATION',
      help: 'list commands: only what belongs to this organization; repo create and team create: the organization it belongs to (default: default)',
      example: 'acme',
    },
  ],
  ['display-name', { kind: 'value', value: 'TEXT', help: "an organization's display name", example: 'Acme Inc' }],
  ['rights', { kind: 'value', value: 'RIGHT[,RIGHT]', help: 'comma separated', choices: undefined, check: rightsCheck, example: 'query,stream' }],
  [
    'kind',
    { kind: 'value', value: 'KIND', help: 'the kind of token (token create: default repository)', choices: ['repository', 'personal'], example: 'personal' },
  ],
  [
    'disabled',
    {
      kind: 'value',
      value: 'BOOL',
      help: "user edit: true refuses all the user's tokens and workload identities, false enables them again",
      choices: ['true', 'false'],
      example: 'true',
    },
  ],
  ['user', { kind: 'value', value: 'USER', help: 'the user a personal token acts for', example: 'alice' }],
  ['expires-in', { kind: 'value', value: 'DURATION', help: 'expire after this long', check: duration('12h, 30d or 2w'), example: '30d' }],
  [
    'expires-at',
    {
      kind: 'value',
      value: 'DATE',
      help: 'expire at this ISO 8601 date-time, or at the start (UTC) of this date',
      check: (v) => (cliDateTime(v) === undefined ? `expected a date such as 2027-01-01 or 2027-01-01T12:00:00Z, got ${JSON.stringify(v)}` : undefined),
      example: '2027-01-01',
    },
  ],
  ['no-expiry', { kind: 'flag', help: 'remove the expiry' }],
  [
    'overlap',
    {
      kind: 'value',
      value: 'DURATION',
      help: 'how long the old secret keeps working (default 0s: revoked at once; at most 30d)',
      check: duration('0s, 1h or 24h'),
      example: '24h',
    },
  ],
  [
    'search',
    {
      kind: 'value',
      value: 'TEXT',
      help: 'search name, prefix, user, repository and id (case-insensitive, partial); a whole secret finds its token',
      example: 'ingest',
    },
  ],
  ['q', { kind: 'value', value: 'TEXT', help: 'same as --search', example: 'ingest' }],
  ['lend', { kind: 'flag', help: 'make a lent token: bound to the token that makes it, never outlives it' }],
  [
    'status',
    {
      kind: 'value',
      value: 'STATUS',
      help: 'only tokens with this status (rolled: rolled into another, working through its overlap)',
      choices: ['active', 'rolled', 'revoked', 'expired'],
      example: 'active',
    },
  ],
  [
    'label',
    {
      kind: 'list',
      value: 'KEY=VALUE',
      help: 'a label (repeatable; at most 16; token edit: replaces them all); on token list, only tokens with it',
      check: labelCheck,
      example: 'owner=team-a',
    },
  ],
  ['no-labels', { kind: 'flag', help: 'remove every label' }],
  [
    'allow-from',
    {
      kind: 'list',
      value: 'CIDR',
      help: 'an address range its requests must come from (repeatable; IPv4 or IPv6; token edit: replaces them all)',
      check: cidrCheck,
      example: '10.0.0.0/8',
    },
  ],
  ['no-allow-from', { kind: 'flag', help: 'remove the address bound (any address)' }],
  ['self-rotate', { kind: 'flag', help: 'the token may roll itself without the admin right (unattended clients)' }],
  ['no-self-rotate', { kind: 'flag', help: 'the token may no longer roll itself' }],
  [
    'history',
    {
      kind: 'value',
      value: 'DURATION',
      help: 'token usage: requests and bytes over this long back, as a bar chart (at most 400d)',
      check: duration('24h, 7d or 4w'),
      example: '7d',
    },
  ],
  [
    'step',
    {
      kind: 'value',
      value: 'STEP',
      help: 'token usage --history: one bar per hour or per day (default: 1h up to 2d, else 1d)',
      choices: ['1h', '1d'],
      example: '1d',
    },
  ],
  ['expiring', { kind: 'value', value: 'DURATION', help: 'only active tokens that expire within this', check: duration('7d or 2w'), example: '7d' }],
  [
    'sort',
    {
      kind: 'value',
      value: 'FIELD[,-FIELD]',
      help: `sort keys, left first, - for descending; fields ${SORT_FIELDS.join(', ')}`,
      check: (v) => {
        const bad = v.split(',').filter((f) => !SORT_FIELDS.includes(f.replace(/^-/, '')));
        return bad.length > 0 ? `unknown sort field ${JSON.stringify(bad[0])}; fields are ${SORT_FIELDS.join(', ')}` : undefined;
      },
      example: 'repository,-createdAt',
    },
  ],
  [
    'limit',
    {
      kind: 'value',
      value: 'N',
      help: 'at most this many (1 to 500, default 50)',
      check: (v) => (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 500 ? undefined : `expected a number from 1 to 500, got ${JSON.stringify(v)}`),
      example: '100',
    },
  ],
  ['type', { kind: 'value', value: 'TYPE', help: 'only events of this type', example: 'token.revoked' }],
  ['actor', { kind: 'value', value: 'ACTOR', help: 'only changes made by this actor: a user name, or token:ID', example: 'token:0123456789abcdef' }],
  [
    'token',
    {
      kind: 'value',
      value: 'ID',
      help: 'only the events of this token (its full id)',
      check: (v) => (/^[0-9a-f]{16}$/.test(v) ? undefined : `expected a full token id (16 hex digits), got ${JSON.stringify(v)}`),
      example: '0123456789abcdef',
    },
  ],
  ['cursor', { kind: 'value', value: 'CURSOR', help: 'the next page, as the previous page printed it', example: 'eyJ…' }],
  ['file', { kind: 'value', value: 'FILE', help: 'one secret a line (- for stdin)', example: 'leaked.txt' }],
  ['grant', { kind: 'list', value: 'REPOSITORY=RIGHT[,RIGHT]', help: 'a grant (repeatable)', check: grantCheck, example: 'sensors=query,stream' }],
  ['no-grants', { kind: 'flag', help: 'remove every grant' }],
  ['member', { kind: 'list', value: 'USER', help: 'a member (repeatable)', example: 'alice' }],
  ['no-members', { kind: 'flag', help: 'remove every member' }],
  [
    'rate',
    {
      kind: 'value',
      value: 'REQUESTS/PER',
      help: 'at most this many requests over any PER (1s to 1h)',
      check: (v) => limitCheck(parseRateOption(v)),
      example: '50/1s',
    },
  ],
  [
    'quota',
    {
      kind: 'value',
      value: 'BYTES/PER',
      help: 'at most this many body bytes per PER (1h to 30d, UTC windows); units B, KB, MB, GB, KiB, MiB, GiB, TiB',
      check: (v) => limitCheck(parseQuotaOption(v)),
      example: '10GiB/1d',
    },
  ],
  [
    'streams',
    {
      kind: 'value',
      value: 'N',
      help: 'at most this many exchanges open at once',
      check: (v) => (/^[1-9]\d{0,5}$/.test(v) ? undefined : `expected a whole number of streams from 1, got ${JSON.stringify(v)}`),
      example: '2',
    },
  ],
  ['no-limits', { kind: 'flag', help: "remove the limits (a token then runs under its repository's defaults, if any)" }],
  [
    'upstream-port',
    {
      kind: 'value',
      value: 'PORT',
      help: 'port of the demo upstream (default 8000; 0 picks a free one)',
      check: (v) => (/^\d{1,5}$/.test(v) && Number(v) <= 65535 ? undefined : `expected a port number from 0 to 65535, got ${JSON.stringify(v)}`),
      example: '18000',
    },
  ],
]);

/** One line per option for `--help`: `-o, --output FORMAT  how to print … (table, wide, …)`. */
export function optionsHelp(names: readonly string[]): string {
  const rows = names.map((name) => {
    const def = OPTIONS.get(name)!;
    const flag = `${def.short ? `-${def.short}, ` : '    '}--${name}${def.value ? ` ${def.value}` : ''}`;
    const allowed = def.choices ? `: ${def.choices.join(', ')}` : name === 'rights' || name === 'grant' ? `; rights: ${RIGHTS.join(', ')}` : '';
    const example = def.example && !def.choices && !def.help.includes(def.example) ? ` (e.g. ${def.example})` : '';
    return [flag, `${def.help}${allowed}${example}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join('\n');
}
