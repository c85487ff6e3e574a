// npm run bench [-- scenario]: runs each scenario against every target in one run and prints
// requests per second with the ratio to the direct upstream. Needs wrk (apt-get install wrk).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = process.env.BENCH_DURATION ?? '10s';
const CONNECTIONS = process.env.BENCH_CONNECTIONS ?? '32';
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function ensureWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    if (err.code !== 'ENOENT' && err.status !== 1) throw err;
    if (err.code === 'ENOENT') {
      console.error('wrk is missing: installing it with apt-get');
      execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
    }
  }
}

function start(command, args, env = {}) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return { child, output: () => out };
}

async function waitFor(check, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function wrk(url, headers = []) {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}`, '--latency'];
  for (const h of headers) args.push('-H', h);
  const text = execFileSync('wrk', [...args, url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)[1]);
  const p99 = /99%\s+([\d.]+\w+)/.exec(text)?.[1];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  return { rps, p99, non2xx };
}

async function main() {
  ensureWrk();
  const upstream = start('node', ['bench/upstream.mjs', '0']);
  const upstreamPort = Number(await waitFor(() => upstream.output().trim(), 'upstream port'));
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const env = {
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_PROXY_UPSTREAM: `http://127.0.0.1:${upstreamPort}`,
    TOLLGATE_PROXY_ACCESS_LOG: 'false',
    TOLLGATE_LOG_LEVEL: 'warn',
    TOLLGATE_STORE_FILE_PATH: join(dir, 'store.jsonl'),
  };
  const init = execFileSync('node', ['dist/main.js', 'init-admin'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const admin = /^(tgr_\w{49})$/m.exec(init)[1];
  const tollgate = start('node', ['dist/main.js', 'serve'], { ...env, TOLLGATE_LOG_LEVEL: 'info' });
  const listening = await waitFor(() => tollgate.output().split('\n').find((l) => l.includes('tollgate listening')), 'tollgate');
  const { proxyPort, adminPort } = JSON.parse(listening);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  await fetch(`${adminUrl}/v1/repositories`, { method: 'POST', headers, body: JSON.stringify({ name: 'bench' }) });
  const created = await fetch(`${adminUrl}/v1/tokens`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ kind: 'repository', name: 'bench', repository: 'bench', rights: ['query'] }),
  }).then((r) => r.json());
  const path = '/v1/repositories/bench/query';
  const auth = `Authorization: Bearer ${created.secret}`;

  const direct = wrk(`http://127.0.0.1:${upstreamPort}${path}`, [auth]);
  const through = wrk(`http://127.0.0.1:${proxyPort}${path}`, [auth]);
  const refused = wrk(`http://127.0.0.1:${proxyPort}${path}`);

  const rows = [
    ['target', 'req/s', 'p99', 'non-2xx', 'ratio to direct'],
    ['direct upstream (GET)', direct.rps.toFixed(0), direct.p99, direct.non2xx, '1.00'],
    ['tollgate, cached token (GET)', through.rps.toFixed(0), through.p99, through.non2xx, (through.rps / direct.rps).toFixed(2)],
    ['tollgate, no token (401)', refused.rps.toFixed(0), refused.p99, refused.non2xx, (refused.rps / direct.rps).toFixed(2)],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const row of rows) console.log('| ' + row.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |');
  console.log(`\nwrk -t1 -c${CONNECTIONS} -d${DURATION}; node ${process.version}; nproc ${execFileSync('nproc').toString().trim()}`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
