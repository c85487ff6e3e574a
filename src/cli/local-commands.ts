import { readFileSync } from 'node:fs';
import { type ParsedArgs, parseArgs, UsageError } from './args.js';
import { configFromArgs, configSource } from './config-path.js';
import { optionsHelp } from './options.js';
import { textWidth, wrapText } from './text-wrap.js';

/** A command that runs in this process on the configuration (no admin API). */
export interface LocalCommand {
  usage: string;
  summary: string;
  options: readonly string[];
  /** Positional arguments allowed: a name for each (none for most: a config path goes in --config). */
  positional: readonly string[];
  examples: readonly string[];
  run(args: ParsedArgs): Promise<number>;
}

const config = (args: ParsedArgs) => configFromArgs(args.values.get('config'), process.env);

export const LOCAL_COMMANDS: Readonly<Record<string, LocalCommand>> = {
  serve: {
    usage: 'serve [--config FILE] [--role ROLE]',
    summary:
      'run the proxy and admin ports until SIGTERM or SIGINT (then drain and exit 0); SIGHUP or a change of the file reloads the configuration; --role proxy runs the sidecar alone, --role control the admin API alone',
    options: ['config', 'role'],
    positional: [],
    examples: [
      'tollgate serve --config config/tollgate.yaml',
      'TOLLGATE_STORE_BACKEND=redis TOLLGATE_STORE_REDIS_URL=redis://redis:6379/0 tollgate serve --role proxy',
    ],
    async run(args) {
      const { serve } = await import('./serve.js');
      // The option is the role key set last: over the file and TOLLGATE_ROLE, checked with them,
      // and read again the same way on SIGHUP and when the file changes.
      const role = args.values.get('role');
      return serve(configSource(args.values.get('config'), role === undefined ? process.env : { ...process.env, TOLLGATE_ROLE: role }));
    },
  },
  'init-admin': {
    usage: 'init-admin [--config FILE] [--name NAME]',
    summary: 'write a * admin token (every right) straight into the store and print its secret once: the way in on a new install (name: admin unless --name)',
    options: ['config', 'name'],
    positional: [],
    examples: ['tollgate init-admin --config config/tollgate.yaml --name root'],
    async run(args) {
      const { initAdmin } = await import('./init-admin.js');
      return initAdmin(config(args), args.values.get('name') ?? 'admin', process.stdout);
    },
  },
  reconcile: {
    usage: 'reconcile [--config FILE]',
    summary:
      "recount the Redis store's token counters and expiry sets from the tokens, and list token names held by more than one token in a scope (to rename)",
    options: ['config'],
    positional: [],
    examples: ['tollgate reconcile --config config/tollgate.yaml'],
    async run(args) {
      const { reconcile } = await import('./reconcile.js');
      return reconcile(config(args), process.stdout);
    },
  },
  demo: {
    usage: 'demo [--upstream-port PORT]',
    summary:
      'the quickstart: a demo upstream (port 8000), Tollgate on 8080 (proxy) and 9090 (admin, page at /ui/), the file store ./data/demo.jsonl, an admin and a data token, and curl lines; TOLLGATE_PROXY_LISTEN, TOLLGATE_ADMIN_LISTEN and TOLLGATE_STORE_FILE_PATH move them',
    options: ['config', 'upstream-port'],
    positional: [],
    examples: ['tollgate demo', 'TOLLGATE_PROXY_LISTEN=127.0.0.1:18080 TOLLGATE_ADMIN_LISTEN=127.0.0.1:19090 tollgate demo --upstream-port 18000'],
    async run(args) {
      const port = args.values.get('upstream-port');
      const { demo } = await import('./demo.js');
      return demo(config(args), process.env, process.stdout, port === undefined ? 8000 : Number(port));
    },
  },
  completion: {
    usage: 'completion bash|zsh',
    summary: 'print a completion script for bash or zsh (commands, options and their allowed values)',
    options: [],
    positional: ['SHELL'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${fpath[1]} is zsh, shown to the user as is
    examples: ['source <(tollgate completion bash)         # in ~/.bashrc', 'tollgate completion zsh > "${fpath[1]}/_tollgate"   # then restart zsh'],
    async run(args) {
      const shell = args.positional[0];
      if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`expected bash or zsh, got ${JSON.stringify(shell)}`);
      const { completionScript } = await import('./completion.js');
      process.stdout.write(completionScript(shell, LOCAL_COMMANDS));
      return 0;
    },
  },
};

/** The full help of a local command. */
export function localHelp(command: LocalCommand): string {
  return (
    `Usage: tollgate ${command.usage}\n\n${command.summary}\n\nOptions:\n${optionsHelp([...command.options, 'help'])}\n\n` +
    `Example${command.examples.length > 1 ? 's' : ''}:\n${command.examples.map((e) => `  ${e}`).join('\n')}\n\n` +
    'Exit status: 0 ok, 1 failed, 2 bad usage or configuration.\n'
  );
}

/** Parses and runs `tollgate <name> …`; a usage mistake is reported with the command's help. */
export async function runLocal(name: string, argv: string[]): Promise<number> {
  const command = LOCAL_COMMANDS[name]!;
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, [...command.options, 'help']);
    if (args.flags.has('help')) {
      process.stdout.write(wrapText(localHelp(command), textWidth({ out: process.stdout, env: process.env })));
      return 0;
    }
    if (args.positional.length !== command.positional.length) {
      const extra = args.positional[command.positional.length];
      // `serve my.yaml` used to start on the defaults without a word.
      if (extra !== undefined && /\.ya?ml$/i.test(extra) && command.options.includes('config'))
        throw new UsageError(`unexpected argument ${JSON.stringify(extra)}: give a config file as --config ${extra}`);
      throw new UsageError(
        command.positional.length === 0
          ? `unexpected argument ${JSON.stringify(extra)}`
          : `expected ${command.positional.join(' ')}, got ${args.positional.length === 0 ? 'nothing' : args.positional.map((p) => JSON.stringify(p)).join(' ')}`,
      );
    }
  } catch (err) {
    if (err instanceof UsageError && err.helpFor === undefined) throw new UsageError(err.message, name);
    throw err;
  }
  return command.run(args);
}

/** The version in package.json, one directory above src/ and dist/ alike. */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown'; // a copy of dist/ without its package.json
  }
}
