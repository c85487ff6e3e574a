// Shared pieces of the benchmark scripts: processes, ports, wrk, CPU time and RSS from /proc.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
const children = [];
const pids = [];
const killAll = () => {
  for (const c of children) c.kill('SIGKILL');
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** Also kill this pid on exit (a grandchild, such as nginx's worker, outlives its killed parent). */
export const killOnExit = (pid) => pids.push(pid);

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

export async function waitFor(check, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await Promise.resolve()
      .then(check)
      .catch(() => false);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a child whose stdout is collected; killed when this process exits. */
export function start(command, args, env = {}) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return { child, output: () => out };
}

/** Installs a Debian package when its command is missing (wrk, nginx-light); false if that fails. */
export function ensureCommand(command, pkg) {
  try {
    execFileSync('which', [command], { stdio: 'ignore' });
    return true;
  } catch {
    try {
      console.error(`${command} is missing: installing ${pkg} with apt-get`);
      execFileSync('apt-get', ['install', '-y', '-qq', pkg], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      return true;
    } catch {
      return false;
    }
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

export const currentRssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

export const peakRssMiB = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

/** Runs wrk; returns requests/s, latency percentiles, errors, and the CPU µs per request of `pid`. */
export function wrk(url, { headers = [], connections = 32, duration = '10s', script, pid } = {}) {
  const args = ['-t1', `-c${connections}`, `-d${duration}`, '--latency'];
  for (const h of headers) args.push('-H', h);
  if (script) args.push('-s', script);
  // A target may be several processes (nginx and the auth service it asks): their CPU adds up.
  const pids = pid === undefined ? [] : [pid].flat();
  const cpuOf = () => pids.reduce((sum, p) => sum + cpuSeconds(p), 0);
  const cpuBefore = cpuOf();
  const text = execFileSync('wrk', [...args, url], { encoding: 'utf8' });
  const cpu = cpuOf() - cpuBefore;
  const requests = Number(/(\d+) requests in/.exec(text)[1]);
  const toMs = (v) => (v ? Number.parseFloat(v) * (v.endsWith('us') ? 0.001 : v.endsWith('ms') ? 1 : 1000) : NaN);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)[1]),
    p50: toMs(/50%\s+([\d.]+\w+)/.exec(text)?.[1]),
    p99: toMs(/99%\s+([\d.]+\w+)/.exec(text)?.[1]),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    errors: Number(/Socket errors: connect (\d+)/.exec(text)?.[1] ?? 0),
    cpuUsPerRequest: pids.length > 0 ? (cpu * 1e6) / requests : NaN,
  };
}

/** Prints a Markdown table. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (row) => `| ${row.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(rows[0]));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of rows.slice(1)) console.log(line(row));
}

/** A private redis-server on a free port, keeping nothing on disk. */
export async function startRedisServer() {
  const port = await freePort();
  start('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no']);
  await waitFor(
    () =>
      execFileSync('redis-cli', ['-p', String(port), 'PING'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .includes('PONG'),
    'redis',
  );
  return { port, url: `redis://127.0.0.1:${port}/0` };
}

/** Runs `tollgate init-admin` with the environment and returns the `*` admin secret it printed. */
export function initAdmin(env, main = 'dist/main.js') {
  const out = execFileSync('node', [main, 'init-admin'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  return /^(tgr_\w{49})$/m.exec(out)[1];
}

/**
 * Starts `tollgate serve` on loopback port 0 and returns its pid and URLs once it listens.
 * `main` picks another build (bench:ab), `nodeFlags` go before it on node's command line.
 */
export async function serveTollgate(env, label = 'tollgate', { main = 'dist/main.js', nodeFlags = [] } = {}) {
  const proc = start('node', [...nodeFlags, main, 'serve'], {
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_PROXY_ACCESS_LOG: 'false',
    ...env,
  });
  const line = await waitFor(
    () =>
      proc
        .output()
        .split('\n')
        .find((l) => l.includes('tollgate listening')),
    label,
  );
  const { proxyPort, adminPort, decisionPort } = JSON.parse(line);
  // The Node that runs this Tollgate, asked of its own executable (for RESULTS.md's Node column).
  const node = execFileSync(`/proc/${proc.child.pid}/exe`, ['--version'], { encoding: 'utf8' }).trim();
  // `decision` only when TOLLGATE_DECISION_LISTEN opened the decision port.
  const decision = decisionPort ? `http://127.0.0.1:${decisionPort}` : undefined;
  return { pid: proc.child.pid, child: proc.child, node, proxy: `http://127.0.0.1:${proxyPort}`, admin: `http://127.0.0.1:${adminPort}`, decision };
}

/** Makes the `bench` repository (once) and returns a function that makes a repository token on it. */
export async function benchTokens(adminUrl, adminSecret, rights = ['query', 'stream']) {
  const headers = { authorization: `Bearer ${adminSecret}`, 'content-type': 'application/json' };
  await fetch(`${adminUrl}/v1/repositories`, { method: 'POST', headers, body: JSON.stringify({ name: 'bench' }) });
  return async () => {
    const body = JSON.stringify({ kind: 'repository', name: 'bench', repository: 'bench', rights });
    return (await fetch(`${adminUrl}/v1/tokens`, { method: 'POST', headers, body }).then((r) => r.json())).secret;
  };
}

/**
 * The multi-replica setup: a private Redis, the bench upstream, a `*` admin secret, and
 * `count` Tollgate replicas on that Redis.
 */
export async function startReplicas(count) {
  const redis = await startRedisServer();
  const upstreamPort = await freePort();
  start('node', ['bench/upstream.mjs', String(upstreamPort)]);
  const env = { TOLLGATE_STORE_BACKEND: 'redis', TOLLGATE_STORE_REDIS_URL: redis.url, TOLLGATE_PROXY_UPSTREAM: `http://127.0.0.1:${upstreamPort}` };
  const admin = initAdmin(env);
  const replicas = [];
  for (let i = 0; i < count; i++) replicas.push(await serveTollgate(env, `replica ${i}`));
  return { admin, replicas };
}
