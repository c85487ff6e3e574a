import { AdminClient } from './admin-client.js';
import { type ParsedArgs, parseArgs, UsageError } from './args.js';
import { COMMON_OPTIONS, type Command } from './command.js';
import { NEEDS_YES, type Prompter } from './confirm.js';
import { REPO_COMMANDS, TEAM_COMMANDS, USER_COMMANDS } from './directory-commands.js';
import { CliFailure } from './failure.js';
import { optionsHelp } from './options.js';
import { ORG_COMMANDS } from './organization-commands.js';
import { type Output, outputFrom } from './output.js';
import { didYouMean } from './suggest.js';
import { textWidth, wrapText } from './text-wrap.js';
import { CliFailureMarker, TOKEN_COMMANDS } from './token-commands.js';
import { WHOAMI } from './whoami-command.js';

export { CliFailureMarker };

/** The admin API's commands by group; own keys only are looked up (`token constructor` is unknown). */
export const COMMANDS: Readonly<Record<string, Readonly<Record<string, Command>>>> = {
  token: TOKEN_COMMANDS,
  user: USER_COMMANDS,
  team: TEAM_COMMANDS,
  repo: REPO_COMMANDS,
  org: ORG_COMMANDS,
};

/** Top-level commands that talk to the admin API. */
export const SINGLE_COMMANDS: Readonly<Record<string, Command>> = { whoami: WHOAMI };

export const ADMIN_GROUPS = Object.keys(COMMANDS);

const FOOTER =
  'The token comes from TOLLGATE_TOKEN (never a flag: it would show in ps); the admin API from\n' +
  '--admin-url, else TOLLGATE_ADMIN_URL, else http://127.0.0.1:9090.\n' +
  'Exit status: 0 ok, 1 refused or failed, 2 bad usage.\n';

/** The full help of one command: usage, what it does, every option with its allowed values, examples. */
export function commandHelp(command: Command): string {
  const names = [...command.options, ...COMMON_OPTIONS.filter((n) => n !== 'help' && (n !== 'json' || command.outputs.includes('json'))), 'help'];
  const options = optionsHelp(names).replace(
    /(--output FORMAT\s+how to print the answer: )[^\n]*/,
    `$1${command.outputs.join(', ')} (default ${command.outputs[0]})`,
  );
  return (
    `Usage: tollgate ${command.usage} [options]\n\n${command.summary}\n\nOptions:\n${options}\n\n` +
    `Example${command.examples.length > 1 ? 's' : ''}:\n${command.examples.map((e) => `  ${e}`).join('\n')}\n\n${FOOTER}`
  );
}

/** `token create`: the words of the usage line before its arguments (what `--help` follows). */
export function commandPath(command: Command): string {
  const words: string[] = [];
  for (const word of command.usage.split(' ')) {
    if (!/^[a-z][a-z-]*$/.test(word)) break;
    words.push(word);
  }
  return words.join(' ');
}

/** Help for one group (`tollgate token --help`) or one command (`tollgate token create --help`). */
export function adminHelp(group: string, action?: string): string {
  const commands = Object.hasOwn(COMMANDS, group) ? COMMANDS[group] : undefined;
  if (!commands) return '';
  const command = action !== undefined && Object.hasOwn(commands, action) ? commands[action] : undefined;
  if (command) return commandHelp(command);
  const list = Object.values(commands)
    .map((c) => `  tollgate ${c.usage}\n      ${c.summary}`)
    .join('\n');
  return `Usage: tollgate ${group} <command> [options]\n\n${list}\n\nEvery command takes -o FORMAT (or --json) and --help; tollgate ${group} <command> --help lists its options.\n${FOOTER}`;
}

/** Where commands print: a terminal's `isTTY` and `columns` decide colour and table width. */
export type Stdout = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Runs `tollgate <group> <action> …` against the admin API. */
export async function runAdminCommand(group: string, argv: string[], env: NodeJS.ProcessEnv, out: Stdout, prompter?: Prompter): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    out.write(wrapText(adminHelp(group), textWidth({ out, env })));
    return action === undefined ? 2 : 0;
  }
  const commands = Object.hasOwn(COMMANDS, group) ? COMMANDS[group]! : undefined;
  const command = commands && Object.hasOwn(commands, action) ? commands[action] : undefined;
  if (!command) throw new UsageError(`unknown command "${group} ${action}"${didYouMean(action, Object.keys(commands ?? {}))}`, group);
  return runCommand(command, rest, env, out, prompter);
}

/** Parses, checks and runs one command; a usage mistake is reported with the command's help. */
export async function runCommand(
  command: Command,
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: Stdout,
  prompter: Prompter = { stdin: process.stdin, stderr: process.stderr },
): Promise<number> {
  const help = commandPath(command);
  if (argv.includes('--help') || argv.includes('-h')) {
    out.write(wrapText(commandHelp(command), textWidth({ out, env })));
    return 0;
  }
  let args: ParsedArgs;
  let client: AdminClient;
  let o: Output;
  try {
    args = parseArgs(argv, [...command.options, ...COMMON_OPTIONS]);
    const [min, max] = typeof command.positional === 'number' ? [command.positional, command.positional] : command.positional;
    if (args.positional.length < min || args.positional.length > max) {
      throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${args.positional.length}`);
    }
    o = outputFrom(args, { out, env }, command.outputs);
    // Before any request: a script that forgot --yes learns so at once.
    if (command.options.includes('yes') && !args.flags.has('yes') && prompter.stdin.isTTY !== true) {
      throw new UsageError(NEEDS_YES);
    }
    client = AdminClient.fromEnvironment(args.values.get('admin-url'), env, command.tokenOptional);
  } catch (err) {
    if (err instanceof UsageError && err.helpFor === undefined) throw new UsageError(err.message, help);
    throw err;
  }
  try {
    await command.run({ args, client, o, prompter });
  } catch (err) {
    if (err instanceof CliFailureMarker) return 1;
    if (err instanceof UsageError && err.helpFor === undefined) throw new UsageError(err.message, help);
    // A data token used to get empty lists and exit 0; now the API says 403, and this says what next.
    if (err instanceof CliFailure && err.message.startsWith('403 ') && err.message.includes('no admin right')) {
      throw new CliFailure(`${err.message}\n(tollgate whoami shows what this token may do)`);
    }
    throw err;
  }
  return 0;
}
