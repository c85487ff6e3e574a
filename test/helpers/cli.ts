import { type ChildProcess, spawn } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.js';

/** The built CLI, as users run it. */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Waits for a JSON log line with this `msg` and returns it parsed (30 s by default: `serve` with tap's coverage loader took over 10 s to listen on a CI machine at load 20-30). */
  logLine(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** This process's environment without TOLLGATE_* and tap's NODE_OPTIONS and NODE_V8_COVERAGE: what a CLI run starts from. */
const childEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_') && k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE'));

/**
 * Runs `node dist/main.js ...args` (or another build of the CLI: `main`) with a clean TOLLGATE_* environment plus `env`. tap's process
 * hooks put its coverage loader into every child's NODE_OPTIONS; with `pristine` the child is
 * started through `env -u` so it runs exactly as users run it (for memory measurements).
 */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string, pristine = false, main = MAIN): Running {
  // A clean environment: tap's own NODE_OPTIONS and NODE_V8_COVERAGE are dropped here, but tap's
  // processinfo puts its loader back into every spawned child, so the child's coverage of dist/
  // counts (mapped to src/); only `pristine` (`env -u` before node starts) runs it without.
  const base = childEnv();
  const [command, argv] = pristine
    ? ['env', ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, main, ...args]]
    : [process.execPath, [main, ...args]];
  const child = spawn(command, argv, { env: { ...base, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const findLine = (msg: string) =>
    out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === msg);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async logLine(msg, timeoutMs = 30_000) {
      await waitFor(() => findLine(msg) !== undefined || child.exitCode !== null, { what: `log line "${msg}"`, timeoutMs });
      const line = findLine(msg);
      if (!line) throw new Error(`exited ${child.exitCode} before "${msg}": ${err}`);
      return line;
    },
  };
}

/** Runs the CLI to completion. */
export async function runToEnd(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const run = runCli(args, env, cwd);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** A stream that keeps what is written to it, as text. */
function collector(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

/**
 * `tollgate ...args` for a command of the admin API (token, user, team, repo, org, whoami, events)
 * in this process, through the entry dist/main.js runs (runTollgate, src/cli/run.ts): the same
 * parsing, requests, output, messages and exit status as runToEnd, with the environment runToEnd
 * gives its child, and a stdout and stdin that are no terminal (as runToEnd's pipe and
 * /dev/null; `input` is what stdin holds). No process is started: a start cost 0.5-1.4 s each with
 * tap's hooks on a loaded 2-core machine, and the e2e files ran a few dozen each. Each file keeps
 * runToEnd calls for what the process itself does. The local commands (serve, init-admin, demo,
 * …) use the process's own streams: they go through runToEnd.
 */
export async function runAdmin(args: string[], env: Record<string, string> = {}, input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  // Imported here: most files that spawn the CLI never run it in-process.
  const [{ LOCAL_COMMANDS }, { runTollgate }] = await Promise.all([import('../../src/cli/local-commands.js'), import('../../src/cli/run.js')]);
  if (args[0] !== undefined && Object.hasOwn(LOCAL_COMMANDS, args[0])) throw new Error(`${args[0]} is a local command: run it with runToEnd`);
  const stdout = collector();
  const stderr = collector();
  const stdin = Readable.from(input === '' ? [] : [Buffer.from(input)]);
  const code = await runTollgate(args, { env: { ...childEnv(), ...env }, stdout: stdout.stream, stderr: stderr.stream, stdin });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

export interface Served {
  run: Running;
  /** A `*` admin secret from `init-admin`. */
  admin: string;
  adminUrl: string;
  proxyUrl: string;
}

/**
 * `tollgate init-admin` on the store `env` configures, in this process: the command's own function
 * on the configuration the CLI would load (TOLLGATE_* from `env`, the default config path), no
 * process start; returns the `*` admin secret it prints. Set-up for tests of a served Tollgate:
 * init-admin as a process is run by test/decision/cli-serve, test/e2e/config-reload and
 * test/events/redis-delivery.
 */
export async function initAdmin(env: Record<string, string>): Promise<string> {
  const [{ configFromArgs }, { initAdmin: run }] = await Promise.all([import('../../src/cli/config-path.js'), import('../../src/cli/init-admin.js')]);
  const out = collector();
  const code = await run(configFromArgs(undefined, { ...childEnv(), ...env }), 'admin', out.stream);
  const secret = /^(tgr_\w{49})$/m.exec(out.text())?.[1];
  if (code !== 0 || !secret) throw new Error(`init-admin exited ${code} and printed no secret: ${out.text()}`);
  return secret;
}

/** `init-admin` (in this process), then `serve` on loopback port 0 with the given environment; killed at teardown. */
export async function initAndServe(t: { teardown(fn: () => unknown): void }, env: Record<string, string>, pristine = false): Promise<Served> {
  const full = { TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_PROXY_ACCESS_LOG: 'false', ...env };
  const admin = await initAdmin(full);
  const run = runCli(['serve'], full, undefined, pristine);
  t.teardown(() => run.child.kill('SIGKILL'));
  const listening = await run.logLine('tollgate listening');
  return { run, admin, adminUrl: `http://127.0.0.1:${listening.adminPort}`, proxyUrl: `http://127.0.0.1:${listening.proxyPort}` };
}
