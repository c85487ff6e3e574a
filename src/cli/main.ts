// The commands, loaded by src/main.ts once it has checked the Node.js version.
import { ConfigError, formatFaults } from '../config/load.js';
import { helpPointer, UsageError } from './args.js';
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(wrapText(TOP_HELP, textWidth({ out: process.stdout, env: process.env })));
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`tollgate ${version()}\n`);
    return 0;
  }
  if (Object.hasOwn(LOCAL_COMMANDS, command)) return runLocal(command, rest);
  if (command === 'events') {
    const { runEventsCommand } = await import('./events-command.js');
    return runEventsCommand(rest, process.env, process.stdout);
  }
  if (ADMIN_GROUPS.includes(command)) {
    const { runAdminCommand } = await import('./admin-commands.js');
    return runAdminCommand(command, rest, process.env, process.stdout);
  }
  if (ADMIN_SINGLE.includes(command)) {
    const { runCommand, SINGLE_COMMANDS } = await import('./admin-commands.js');
    return runCommand(SINGLE_COMMANDS[command]!, rest, process.env, process.stdout);
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}${didYouMean(command, TOP_COMMANDS)}`);
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exit(status);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      // A fault may carry an excerpt on further lines (a YAML syntax error): indented with it.
      process.stderr.write(`tollgate: invalid configuration\n${formatFaults(err).join('\n')}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError) {
      // The mistake, a suggestion when one is near, and one line to the help (not the whole of it).
      process.stderr.write(`tollgate: ${err.message}\n${helpPointer(err.helpFor)}`);
      process.exit(2);
    }
    if (err instanceof CliFailure) {
      process.stderr.write(`tollgate: ${err.message}\n`);
      process.exit(1);
    }
    if ((err as { code?: string }).code === 'TG_FILE_STORE') {
      process.stderr.write(`tollgate: ${(err as Error).message}\n`);
      process.exit(1);
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      process.stderr.write(`tollgate: ${(err as Error).message}; set TOLLGATE_PROXY_LISTEN / TOLLGATE_ADMIN_LISTEN\n`);
      process.exit(1);
    }
    process.stderr.write(`tollgate: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
