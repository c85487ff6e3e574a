// The commands, loaded by src/main.ts once it has checked the Node.js version.
import { ConfigError } from '../config/load.js';
// Not from admin-client.js, which would load all of undici into every command, `serve` included.
import { CliFailure } from './failure.js';
import { UsageError } from './args.js';
import { LOCAL_COMMANDS, runLocal, version } from './local-commands.js';

// Commands are imported when run, so `tollgate token list` does not load the proxy, Redis
// client and metrics it never uses (half the start-up time of a short CLI call).
const ADMIN_GROUPS = ['token', 'user', 'team', 'repo'];
const ADMIN_SINGLE = ['whoami'];

const USAGE = `Usage: tollgate <command> [options]

Commands:
  serve [--config FILE] [--role ROLE]      run the proxy and admin ports; --role proxy (the sidecar)
                                           or control (the admin API) runs one half (else all)
  init-admin [--config FILE] [--name N]    make a * admin token in the store; prints its secret once
  reconcile [--config FILE]                recount the Redis store's token counters from the tokens
  demo [--upstream-port N]                 quickstart: demo upstream (port 8000), file store, tokens and
                                           curl lines; TOLLGATE_PROXY_LISTEN / _ADMIN_LISTEN move its ports
  whoami                                   the token in TOLLGATE_TOKEN: name, kind, scope, rights, expiry
  token create|list|show|edit|roll|revoke|restore|delete|history|leaked
  user create|list|show|edit|delete
  team create|list|show|edit|delete|history
  repo create|list|delete                  the admin API, with TOLLGATE_TOKEN (and --admin-url or
                                           TOLLGATE_ADMIN_URL); -o table|wide|json|yaml|name
  events [--type T] [--limit N] [-o F]     recent events and their webhook deliveries (admins)
  completion bash|zsh                      a shell completion script: source <(tollgate completion bash)

tollgate <command> --help lists a command's options, their allowed values and examples;
tollgate --version prints the version.

Config: --config FILE, else TOLLGATE_CONFIG, else config/tollgate.yaml; every key can be set
with TOLLGATE_<PATH> (TOLLGATE_STORE_REDIS_URL). Exit status: 0 ok, 1 failed, 2 bad usage or config.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
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
  throw new UsageError(`unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exit(status);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      // A fault may carry an excerpt on further lines (a YAML syntax error): indented with it.
      process.stderr.write(`tollgate: invalid configuration\n${err.faults.map((f) => `  ${f.replace(/\n/g, '\n  ')}`).join('\n')}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`tollgate: ${err.message}\n\n${err.usage ?? USAGE}`);
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
