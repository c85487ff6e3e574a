import { type ChildProcess, spawn } from 'node:child_process';
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

/**
 * Runs `node dist/main.js ...args` (or another build of the CLI: `main`) with a clean TOLLGATE_* environment plus `env`. tap's process
 * hooks put its coverage loader into every child's NODE_OPTIONS; with `pristine` the child is
 * started through `env -u` so it runs exactly as users run it (for memory measurements).
 */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string, pristine = false, main = MAIN): Running {
  // A clean environment: tap's own NODE_OPTIONS and NODE_V8_COVERAGE are dropped here, but tap's
  // processinfo puts its loader back into every spawned child, so the child's coverage of dist/
  // counts (mapped to src/); only `pristine` (`env -u` before node starts) runs it without.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_') && k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE'));
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

export interface Served {
  run: Running;
  /** A `*` admin secret from `init-admin`. */
  admin: string;
  adminUrl: string;
  proxyUrl: string;
}

/** `init-admin`, then `serve` on loopback port 0 with the given environment; killed at teardown. */
export async function initAndServe(t: { teardown(fn: () => unknown): void }, env: Record<string, string>, pristine = false): Promise<Served> {
  const full = { TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_PROXY_ACCESS_LOG: 'false', ...env };
  const init = await runToEnd(['init-admin'], full);
  const admin = /^(tgr_\w{49})$/m.exec(init.stdout)?.[1];
  if (!admin) throw new Error(`init-admin printed no secret: ${init.stderr}`);
  const run = runCli(['serve'], full, undefined, pristine);
  t.teardown(() => run.child.kill('SIGKILL'));
  const listening = await run.logLine('tollgate listening');
  return { run, admin, adminUrl: `http://127.0.0.1:${listening.adminPort}`, proxyUrl: `http://127.0.0.1:${listening.proxyPort}` };
}
