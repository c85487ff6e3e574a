// node bench/callgrind-ab.mjs TARGET... [rounds]: the cached GET's user-space instructions per
// request on the main thread, counted by callgrind, for builds of Tollgate (copies of dist/ under
// bench/out/, as bench:ab takes them) and `floor` (bench/floor-net-proxy.mjs). CPU time per request
// on this shared 2-core VM moves by 30% from minute to minute with the other sessions' load, and
// its hardware counters are not exposed (`perf stat -e instructions:u` says <not supported>);
// instruction counts do not move with load. Each target runs under valgrind with everything
// instrumented from the start (toggling instrumentation on later made V8's code re-translate and
// gave counts off by up to 50x), is warmed with wrk -c8 for WARM (default 150s: 5k to 70k requests
// at callgrind's pace, by the machine's load; V8 tiers up), then each round zeroes the counters, runs wrk -c1 for D
// (default 30s) and dumps. Only the main thread is read (--separate-threads, the -01 dump): V8's
// compiler and concurrent-marking threads run on their own schedule. Kernel time is not counted.
// LOAD=h2 loads through h2load instead, HTTP/2 by prior knowledge (-c4 -m10: 40 streams in
// flight); LOAD=h1 through h2load --h1 (-c4): the HTTP/2 front against the same process's HTTP/1.1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchTokens, ensureCommand, initAdmin, start, waitFor, wrk as wrkLoad } from './lib.mjs';

const LOAD = process.env.LOAD ?? 'wrk';
/** wrk, or h2load for LOAD=h2|h1 (4 connections, 10 streams each over HTTP/2); requests/s as wrk's. */
function wrk(url, { headers, duration, connections }) {
  if (LOAD === 'wrk') return wrkLoad(url, { headers, duration, connections });
  const secs = Number.parseFloat(duration);
  const args = ['-c', '4', '-D', String(secs), '-t', '1', ...(LOAD === 'h2' ? ['-m', '10'] : ['--h1'])];
  for (const h of headers) args.push('-H', h.replace(/^Authorization/, 'authorization'));
  const text = execFileSync('h2load', [...args, url], { encoding: 'utf8' });
  return { rps: Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(text)[1]) / secs };
}

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const targetsAsked = args.filter((a) => !/^\d+$/.test(a));
if (targetsAsked.length === 0) {
  console.error('usage: node bench/callgrind-ab.mjs floor|DIST_DIR... [rounds]');
  process.exit(2);
}
if (!ensureCommand('valgrind', 'valgrind') || !ensureCommand(LOAD === 'wrk' ? 'wrk' : 'h2load', LOAD === 'wrk' ? 'wrk' : 'nghttp2-client')) {
  throw new Error('valgrind and wrk (h2load for LOAD=h2|h1) are needed');
}
const PATH = '/v1/repositories/bench/query';
const seconds = Number.parseFloat(process.env.D ?? '30');
const upstream = start('node', ['bench/upstream.mjs', '0']);
const upstreamUrl = `http://127.0.0.1:${Number(await waitFor(() => upstream.output().trim(), 'upstream'))}`;
const outDir = mkdtempSync(join(tmpdir(), 'callgrind-ab-'));
const valgrind = (n) => ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${outDir}/cg-${n}.%p`, process.execPath];

async function serve(spec, n) {
  if (spec === 'floor') {
    const secret = 'tgr_floorfloorfloorfloorfloorfloorfloorfloorfloorfloor';
    const proc = start('valgrind', [...valgrind(n), 'bench/floor-net-proxy.mjs', upstreamUrl, '0', secret]);
    const port = Number(await waitFor(() => proc.output().trim(), 'floor', 300_000));
    return { spec, n, pid: proc.child.pid, url: `http://127.0.0.1:${port}${PATH}`, auth: [`Authorization: Bearer ${secret}`], runs: [] };
  }
  const main = join(resolve(spec), 'main.js');
  const env = {
    TOLLGATE_PROXY_UPSTREAM: upstreamUrl,
    TOLLGATE_STORE_FILE_PATH: join(mkdtempSync(join(tmpdir(), 'tollgate-cg-')), 'store.jsonl'),
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_PROXY_ACCESS_LOG: 'false',
  };
  const admin = initAdmin(env, main);
  const proc = start('valgrind', [...valgrind(n), main, 'serve'], env);
  const line = await waitFor(
    () =>
      proc
        .output()
        .split('\n')
        .find((l) => l.includes('tollgate listening')),
    spec,
    300_000,
  );
  const { proxyPort, adminPort } = JSON.parse(line);
  const secret = await (await benchTokens(`http://127.0.0.1:${adminPort}`, admin, ['query']))();
  return { spec, n, pid: proc.child.pid, url: `http://127.0.0.1:${proxyPort}${PATH}`, auth: [`Authorization: Bearer ${secret}`], runs: [] };
}

const targets = [];
for (const [n, spec] of targetsAsked.entries()) targets.push(await serve(spec, n));
for (const t of targets) wrk(t.url, { headers: t.auth, duration: process.env.WARM ?? '150s', connections: 8 });
const control = (pid, ...a) => execFileSync('callgrind_control', [...a, String(pid)], { encoding: 'utf8' });
/** The newest dump of target `n`'s main thread. */
function lastDump(n) {
  const dumpNumber = (f) => Number(f.split('.').at(-1).split('-')[0]);
  const files = readdirSync(outDir)
    .filter((f) => f.startsWith(`cg-${n}.`) && /\.\d+\.\d+-01$/.test(f))
    .sort((x, y) => dumpNumber(x) - dumpNumber(y));
  return readFileSync(join(outDir, files.at(-1)), 'utf8');
}
for (let round = 0; round < rounds; round++) {
  for (const t of targets) {
    control(t.pid, '-z');
    const r = wrk(t.url, { headers: t.auth, duration: `${seconds}s`, connections: 1 });
    control(t.pid, '-d');
    const requests = r.rps * seconds;
    const instructions = Number(/^(?:summary|totals): (\d+)/m.exec(lastDump(t.n))[1]) / requests;
    t.runs.push(instructions);
    console.log(`round ${round + 1} ${t.spec}: ${requests.toFixed(0)} requests, ${instructions.toFixed(0)} instructions/request`);
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const [first, ...others] = targets;
for (const t of targets) console.log(`${t.spec}: median ${median(t.runs).toFixed(0)} instructions/request`);
for (const t of others) {
  const diffs = t.runs.map((x, i) => x - first.runs[i]);
  console.log(`${t.spec} vs ${first.spec}: ${(median(t.runs) / median(first.runs)).toFixed(2)}x; per round ${diffs.map((d) => d.toFixed(0)).join(', ')}`);
}
process.exit(0);
