import type { AdminClient } from './admin-client.js';
import { type ParsedArgs, UsageError } from './args.js';
import type { Prompter } from './confirm.js';
import { cliDateTime, cliDuration, type OutputFormat } from './options.js';
import type { Output } from './output.js';

/** What a command of the admin API gets to run with. */
export interface CommandContext {
  args: ParsedArgs;
  client: AdminClient;
  o: Output;
  prompter: Prompter;
}

/** One `tollgate GROUP ACTION` (or a top-level command such as `whoami`). */
export interface Command {
  /** After `tollgate `: the positionals and the required options; `[options]` is added. */
  usage: string;
  summary: string;
  /** Its own options; --admin-url, -o, --json and --help every command has. */
  options: readonly string[];
  /** The formats `-o` may ask for; the first is the default. */
  outputs: readonly OutputFormat[];
  /** Number of positional arguments: exact, or [min, max]. */
  positional: number | [number, number];
  examples: readonly string[];
  run(context: CommandContext): Promise<void>;
  /** The route needs no token: run without TOLLGATE_TOKEN (and send none). */
  tokenOptional?: boolean;
}

export const COMMON_OPTIONS = ['admin-url', 'output', 'json', 'help'];
export const ALL_FORMATS: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml', 'name'];
/** For answers with no list of named things to print one a line. */
export const NO_NAMES: readonly OutputFormat[] = ['table', 'json', 'yaml'];

export const enc = encodeURIComponent;

export const rightsList = (text: string) =>
  text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);

/**
 * `--grant sensors=query,stream` (repeatable) -> grants, checked already by the option. A Map,
 * since the repository names come from the user, turned into an object only for the request body
 * (Object.fromEntries defines own properties: `__proto__` stays a key the server refuses).
 */
export function grantsFrom(args: ParsedArgs): Record<string, string[]> {
  const grants = new Map<string, string[]>();
  for (const grant of args.lists.get('grant') ?? []) {
    const eq = grant.indexOf('=');
    grants.set(grant.slice(0, eq), rightsList(grant.slice(eq + 1)));
  }
  return Object.fromEntries(grants);
}

/** `--expires-in` (weeks as days), `--expires-at` (a date as its start, UTC) or `--no-expiry`, as the API takes them. */
export function expiryFrom(args: ParsedArgs): Record<string, unknown> {
  const given = ['expires-in', 'expires-at', 'no-expiry'].filter((name) => args.values.has(name) || args.flags.has(name));
  if (given.length > 1) throw new UsageError(`give one of --${given.join(', --')}, not several`);
  const body: Record<string, unknown> = {};
  if (args.values.has('expires-in')) body.expiresIn = cliDuration(args.values.get('expires-in')!);
  if (args.values.has('expires-at')) body.expiresAt = cliDateTime(args.values.get('expires-at')!);
  if (args.flags.has('no-expiry')) body.expiresAt = null;
  return body;
}
