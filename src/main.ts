#!/usr/bin/env node
import { ConfigError } from './config/load.js';
import { FileStoreError } from './store/file-store.js';
import { parseArgs, UsageError } from './cli/args.js';
import { configFromArgs } from './cli/config-path.js';
import { demo } from './cli/demo.js';
import { initAdmin } from './cli/init-admin.js';
import { serve } from './cli/serve.js';

const USAGE = `Usage: tollgate <command> [options]

Commands:
  serve [--config FILE]                    run the proxy and admin ports
  init-admin [--config FILE] [--name N]    make a * admin token in the store; prints its secret once
  demo [--upstream-port N]                 quickstart: demo upstream (port 8000), file store, tokens and
                                           curl lines; TOLLGATE_PROXY_LISTEN / _ADMIN_LISTEN move its ports

Config: --config FILE, else TOLLGATE_CONFIG, else config/tollgate.yaml; every key can be set
with TOLLGATE_<PATH> (TOLLGATE_STORE_REDIS_URL). Exit status: 0 ok, 1 failed, 2 bad usage or config.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'serve': {
      const args = parseArgs(rest, new Set(), new Set(['config']));
      return serve(configFromArgs(args.options.get('config'), process.env));
    }
    case 'init-admin': {
      const args = parseArgs(rest, new Set(), new Set(['config', 'name']));
      const name = args.options.get('name');
      return initAdmin(configFromArgs(args.options.get('config'), process.env), typeof name === 'string' ? name : 'admin', process.stdout);
    }
    case 'demo': {
      const args = parseArgs(rest, new Set(), new Set(['config', 'upstream-port']));
      const port = args.options.get('upstream-port');
      if (port !== undefined && !/^\d{1,5}$/.test(String(port))) throw new UsageError('--upstream-port takes a port number');
      return demo(configFromArgs(args.options.get('config'), process.env), process.env, process.stdout, port === undefined ? 8000 : Number(port));
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exit(status);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`tollgate: invalid configuration\n${err.faults.map((f) => `  ${f}`).join('\n')}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`tollgate: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (err instanceof FileStoreError) {
      process.stderr.write(`tollgate: ${err.message}\n`);
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
