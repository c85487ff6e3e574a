// The commands and what their failures print, apart from the process: src/cli/main.ts runs them
// on the process's own streams and exits with the status; tests run the admin commands in their
// own process with streams of their own (a process start per call cost 0.5-1.4 s in the suite).
import { ConfigError, formatFaults } from '../config/load.js';
import { helpPointer, UsageError } from './args.js';
import type { Prompter } from './confirm.js';
// Not from admin-client.js, which would load all of undici into every command, `serve` included.
import { CliFailure } from './failure.js';
import { LOCAL_COMMANDS, runLocal, version } from './local-commands.js';
import { didYouMean } from './suggest.js';
import { textWidth, wrapText } from './text-wrap.js';
import { TOP_COMMANDS, TOP_HELP } from './top-help.js';

// Commands are imported when run, so `tollgate token list` does not load the proxy, Redis
// client and metrics it never uses (half the start-up time of a short CLI call).
const ADMIN_GROUPS = ['token', 'user', 'team', 'repo', 'org'];
const ADMIN_SINGLE = ['whoami'];

/**
 * Where a command reads and prints (the process itself in src/cli/main.ts: its stdin is only
 * made when a command reads it). The local commands (serve, init-admin, demo, …) use the
 * process's own streams and environment whatever is given here.
 */
export interface CliStreams {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  stdin: Prompter['stdin'];
}

async function dispatch(argv: string[], io: CliStreams): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.stdout.write(wrapText(TOP_HELP, textWidth({ out: io.stdout, env: io.env })));
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    io.stdout.write(`tollgate ${version()}\n`);
    return 0;
  }
  if (Object.hasOwn(LOCAL_COMMANDS, command)) return runLocal(command, rest);
  if (command === 'events') {
    const { runEventsCommand } = await import('./events-command.js');
    return runEventsCommand(rest, io.env, io.stdout);
  }
  if (ADMIN_GROUPS.includes(command)) {
    const { runAdminCommand } = await import('./admin-commands.js');
    return runAdminCommand(command, rest, io.env, io.stdout, { stdin: io.stdin, stderr: io.stderr });
  }
  if (ADMIN_SINGLE.includes(command)) {
    const { runCommand, SINGLE_COMMANDS } = await import('./admin-commands.js');
    return runCommand(SINGLE_COMMANDS[command]!, rest, io.env, io.stdout, { stdin: io.stdin, stderr: io.stderr });
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}${didYouMean(command, TOP_COMMANDS)}`);
}

/** What a failure prints on stderr, and the exit status it gives. */
function failed(err: unknown, stderr: NodeJS.WritableStream): number {
  if (err instanceof ConfigError) {
    // A fault may carry an excerpt on further lines (a YAML syntax error): indented with it.
    stderr.write(`tollgate: invalid configuration\n${formatFaults(err).join('\n')}\n`);
    return 2;
  }
  if (err instanceof UsageError) {
    // The mistake, a suggestion when one is near, and one line to the help (not the whole of it).
    stderr.write(`tollgate: ${err.message}\n${helpPointer(err.helpFor)}`);
    return 2;
  }
  if (err instanceof CliFailure) {
    stderr.write(`tollgate: ${err.message}\n`);
    return 1;
  }
  if ((err as { code?: string }).code === 'TG_FILE_STORE') {
    stderr.write(`tollgate: ${(err as Error).message}\n`);
    return 1;
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    stderr.write(`tollgate: ${(err as Error).message}; set TOLLGATE_PROXY_LISTEN / TOLLGATE_ADMIN_LISTEN\n`);
    return 1;
  }
  stderr.write(`tollgate: ${(err as Error).stack ?? String(err)}\n`);
  return 1;
}

/** Runs `tollgate ...argv` and resolves to its exit status; a failure is printed on `io.stderr`, never thrown. */
export async function runTollgate(argv: string[], io: CliStreams): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    return failed(err, io.stderr);
  }
}
