// node bench/syscalls.mjs TARGET... : the cached GET's system calls per request, by call, for
// `floor` (bench/floor-net-proxy.mjs) and builds of Tollgate (copies of dist/ under bench/out/,
// as bench:ab takes them). Each target is warmed with wrk, then `strace -c` attaches to its main
// thread (the event loop: every socket read, write and epoll of a request is there; V8's and
// libuv's helper threads are left out unless ALL=1) while wrk runs for D seconds (default 5) with C connections
// (default 32, as `npm run bench -- cached`; C=1 shows the per-request sequence without batching).
// Counts are per request wrk completed, so the load on the machine moves the rate, not the ratio
// of calls to requests (except epoll_wait, which batches more events per wake the busier the
// process is: compare it between targets of one run).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchTokens, ensureCommand, initAdmin, serveTollgate, start, waitFor, wrk } from './lib.mjs';

const targetsAsked = process.argv.slice(2);
if (targetsAsked.length === 0) {
  console.error('usage: node bench/syscalls.mjs floor|DIST_DIR...');
  process.exit(2);
}
if (!ensureCommand('strace', 'strace') || !ensureCommand('wrk', 'wrk')) throw new Error('strace and wrk are needed');
const PATH = '/v1/repositories/bench/query';
const seconds = Number.parseFloat(process.env.D ?? '5');
const connections = Number(process.env.C ?? '32');
const upstream = start('node', ['bench/upstream.mjs', '0']);
const upstreamUrl = `http://127.0.0.1:${Number(await waitFor(() => upstream.output().trim(), 'upstream'))}`;

async function serve(spec) {
  if (spec === 'floor') {
    const secret = 'tgr_floorfloorfloorfloorfloorfloorfloorfloorfloorfloor';
    const proc = start('node', ['bench/floor-net-proxy.mjs', upstreamUrl, '0', secret]);
    const port = Number(await waitFor(() => proc.output().trim(), 'floor'));
    return { spec, pid: proc.child.pid, url: `http://127.0.0.1:${port}${PATH}`, auth: [`Authorization: Bearer ${secret}`] };
  }
  const main = join(resolve(spec), 'main.js');
  const env = { TOLLGATE_PROXY_UPSTREAM: upstreamUrl, TOLLGATE_STORE_FILE_PATH: join(mkdtempSync(join(tmpdir(), 'tollgate-sc-')), 'store.jsonl') };
  const admin = initAdmin(env, main);
  const t = await serveTollgate(env, spec, { main });
  const secret = await (await benchTokens(t.admin, admin, ['query']))();
  return { spec, pid: t.pid, url: `${t.proxy}${PATH}`, auth: [`Authorization: Bearer ${secret}`] };
}

/** `strace -c`'s table while wrk runs: calls by name, and the requests wrk completed. */
async function count(t) {
  const out = join(mkdtempSync(join(tmpdir(), 'syscalls-')), 'strace.txt');
  // ALL=1: every thread of the process (V8's collector and compiler threads, libuv's pool).
  const tids = process.env.ALL === '1' ? readdirSync(`/proc/${t.pid}/task`) : [String(t.pid)];
  const strace = spawn('strace', ['-c', '-o', out, ...tids.flatMap((tid) => ['-p', tid])], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500)); // attached
  const r = wrk(t.url, { headers: t.auth, duration: `${seconds}s`, connections });
  strace.kill('SIGINT');
  await new Promise((r) => strace.once('exit', r));
  const requests = Math.round(r.rps * seconds);
  const calls = {};
  for (const line of execFileSync('cat', [out], { encoding: 'utf8' }).split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
    if (m && m[2] !== 'total') calls[m[2]] = Number(m[1]) / requests;
  }
  return { requests, calls };
}

const targets = [];
for (const spec of targetsAsked) targets.push(await serve(spec));
for (const t of targets) wrk(t.url, { headers: t.auth, duration: process.env.WARM ?? '10s', connections });
const results = [];
for (const t of targets) results.push({ spec: t.spec, ...(await count(t)) });
const most = (name) => Math.max(...results.map((r) => r.calls[name] ?? 0));
const names = [...new Set(results.flatMap((r) => Object.keys(r.calls)))].sort((a, b) => most(b) - most(a));
console.log(`syscalls per request on ${process.env.ALL === '1' ? 'every thread' : 'the main thread'} (wrk -c${connections} -d${seconds}s under strace -c)`);
console.log(['call', ...results.map((r) => `${r.spec} (${r.requests} req)`)].join(' | '));
for (const name of names) console.log([name, ...results.map((r) => (r.calls[name] ?? 0).toFixed(3))].join(' | '));
console.log(
  [
    'total',
    ...results.map((r) =>
      Object.values(r.calls)
        .reduce((s, x) => s + x, 0)
        .toFixed(3),
    ),
  ].join(' | '),
);
process.exit(0);
