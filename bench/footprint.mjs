// npm run bench -- footprint: what one process of each kind weighs, measured in one run on this
// machine: Tollgate's proxy role (the sidecar) and all role, both on a private Redis, beside
// node-http-proxy and a bare Node `net` server. For each: RSS idle, after 10k cached GETs, peak
// while 1 GiB goes up and 1 GiB comes down at once (sampled every 10 ms, and VmHWM after a reset
// of the high-water mark), each split into anonymous and file-backed pages (/proc/PID/status
// RssAnon / RssFile), and exec -> ready (median of FOOTPRINT_STARTS starts, 5 by default).
// Tollgate runs from the bundle (dist/bundle/main.js, as the image does), and the proxy role once
// more unbundled (dist/main.js).
// FOOTPRINT_FLAGS="--max-semi-space-size=1 ..." adds a proxy-role row per flag set (space-
// separated sets, flags within a set comma-separated), to weigh V8 options against the same run.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Pool, request } from 'undici';
import { benchTokens, cpuSeconds, freePort, initAdmin, root, serveTollgate, start, startRedisServer, table, waitFor } from './lib.mjs';

const STARTS = Number(process.env.FOOTPRINT_STARTS ?? 5);
const GETS = Number(process.env.FOOTPRINT_GETS ?? 10_000);
// FOOTPRINT_MIB shortens the streams for a smoke run of the script; the figures want the default.
const STREAM_MIB = Number(process.env.FOOTPRINT_MIB ?? 1024);
const PATH = '/v1/repositories/bench/query';
// What the container image runs (deploy/Dockerfile); the manifests add no node flags.
const BUNDLE = 'dist/bundle/main.js';
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** RSS of a process now, in MiB: total, anonymous, file-backed, and the high-water mark. */
function rss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024;
  return { total: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile'), hwm: kib('VmHWM') };
}

const split = (r) => `${fmt(r.total)} (${fmt(r.anon)} + ${fmt(r.file)})`;

/** Resolves once a TCP connect to the port succeeds. */
const accepts = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Resolves with the status of GET url (false when nothing answers). */
const statusOf = (url, headers = {}) =>
  new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('error', () => resolve(false));
  });

/** Spawns, asks `isReady` every 2 ms from the exec, and resolves with the ms it took; then kills the child. */
async function timeToReady(command, args, env, isReady) {
  const t0 = performance.now();
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
  try {
    while (!(await isReady())) {
      if (child.exitCode !== null || performance.now() - t0 > 15_000) throw new Error(`${args.join(' ')} never became ready`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return performance.now() - t0;
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

async function startTimes(target) {
  const times = [];
  for (let i = 0; i < STARTS; i++) times.push(await target.timeStart());
  return median(times);
}

/** 10k GETs on 32 keep-alive connections (the token cached by the first); the target's CPU µs per GET. */
async function cachedGets(url, headers, pid) {
  const cpuBefore = cpuSeconds(pid);
  const pool = new Pool(url, { connections: 32 });
  let sent = 0;
  let ok = 0;
  const worker = async () => {
    while (sent < GETS) {
      sent++;
      const res = await pool.request({ path: PATH, method: 'GET', headers });
      await res.body.dump();
      if (res.statusCode === 200) ok++;
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await pool.close();
  if (ok !== GETS) throw new Error(`${url}: ${GETS - ok} of ${GETS} GETs were not 200`);
  return ((cpuSeconds(pid) - cpuBefore) * 1e6) / GETS;
}

/** 1 GiB up and 1 GiB down at once; samples RSS every 10 ms and returns the largest values seen. */
async function streamBothWays(url, pid, headers) {
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  const peak = { total: 0, anon: 0, file: 0 };
  const sampler = setInterval(() => {
    const now = rss(pid);
    for (const key of ['total', 'anon', 'file']) peak[key] = Math.max(peak[key], now[key]);
  }, 10);
  const chunk = Buffer.alloc(1 << 20, 0x62);
  const up = request(`${url}/v1/repositories/bench/stream`, {
    method: 'POST',
    headers,
    body: Readable.from(
      (function* () {
        for (let i = 0; i < STREAM_MIB; i++) yield chunk;
      })(),
    ),
  }).then((res) => res.body.dump());
  const bytes = STREAM_MIB * 2 ** 20;
  const down = request(`${url}/v1/repositories/bench/bulk?bytes=${bytes}`, { headers }).then(async (res) => {
    let got = 0;
    for await (const part of res.body) got += part.length;
    if (got !== bytes) throw new Error(`${url}: downloaded ${got} bytes`);
  });
  const t0 = performance.now();
  await Promise.all([up, down]);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  return { ...peak, hwm: rss(pid).hwm, mibPerSecond: (2 * STREAM_MIB) / seconds };
}

async function main() {
  const upstreamProc = start('node', ['bench/upstream.mjs', '0']);
  const upstream = `http://127.0.0.1:${Number(await waitFor(() => upstreamProc.output().trim(), 'upstream'))}`;
  const redis = await startRedisServer();
  const storeEnv = {
    TOLLGATE_STORE_BACKEND: 'redis',
    TOLLGATE_STORE_REDIS_URL: redis.url,
    TOLLGATE_PROXY_UPSTREAM: upstream,
    TOLLGATE_PROXY_ACCESS_LOG: 'false',
    TOLLGATE_LOG_LEVEL: 'warn',
  };
  const adminSecret = initAdmin(storeEnv);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));

  /** A Tollgate of one role; the `all` one makes the bench token through its admin API. */
  const tollgate = (name, role, nodeFlags = [], main = BUNDLE) => ({
    name,
    async start() {
      // serveTollgate waits for the "listening" line, logged at info: this one logs at info.
      const served = await serveTollgate({ ...storeEnv, TOLLGATE_LOG_LEVEL: 'info', TOLLGATE_ROLE: role }, name, { nodeFlags, main });
      return { pid: served.pid, url: served.proxy, admin: served.admin };
    },
    async timeStart() {
      const [proxyPort, adminPort] = [await freePort(), await freePort()];
      const env = { ...storeEnv, TOLLGATE_ROLE: role, TOLLGATE_PROXY_LISTEN: `127.0.0.1:${proxyPort}`, TOLLGATE_ADMIN_LISTEN: `127.0.0.1:${adminPort}` };
      return timeToReady('node', [...nodeFlags, main, 'serve'], env, async () => (await statusOf(`http://127.0.0.1:${adminPort}/readyz`)) === 200);
    },
  });
  const httpProxy = {
    name: 'node-http-proxy (keep-alive agent)',
    async start() {
      const proc = start('node', ['bench/http-proxy-server.mjs', upstream, '0']);
      const port = Number(await waitFor(() => proc.output().trim(), 'http-proxy'));
      return { pid: proc.child.pid, url: `http://127.0.0.1:${port}` };
    },
    async timeStart() {
      const port = await freePort();
      return timeToReady(
        'node',
        ['bench/http-proxy-server.mjs', upstream, String(port)],
        {},
        async () => (await statusOf(`http://127.0.0.1:${port}${PATH}`)) === 200,
      );
    },
  };
  const bare = {
    name: 'bare node net server',
    async start() {
      const proc = start('node', ['-e', "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))"]);
      await waitFor(() => proc.output().trim(), 'bare server');
      return { pid: proc.child.pid };
    },
    async timeStart() {
      const port = await freePort();
      return timeToReady('node', ['-e', `require('net').createServer().listen(${port}, '127.0.0.1')`], {}, () => accepts(port));
    },
  };
  const extra = (process.env.FOOTPRINT_FLAGS ?? '')
    .split(' ')
    .filter(Boolean)
    .map((set) => tollgate(`tollgate proxy role ${set.replaceAll(',', ' ')}`, 'proxy', set.split(',')));
  const all = tollgate('tollgate all role', 'all');
  const targets = [
    tollgate('tollgate proxy role', 'proxy'),
    tollgate('tollgate proxy role, unbundled dist/main.js', 'proxy', [], 'dist/main.js'),
    ...extra,
    all,
    httpProxy,
    bare,
  ];

  console.log(
    `# npm run bench -- footprint; Node ${process.version}; nproc ${(await import('node:os')).availableParallelism()}; ${GETS} GETs; ${STARTS} starts each; ${new Date().toISOString()}\n`,
  );
  const running = new Map();
  // The `all` role first: its admin API makes the repository and the token every Tollgate uses.
  running.set(all, await all.start());
  const secret = await (await benchTokens(running.get(all).admin, adminSecret))();
  const headers = { authorization: `Bearer ${secret}` };
  const rows = [
    [
      'target',
      'idle RSS MiB (anon + file)',
      `after ${GETS / 1000}k cached GETs`,
      'CPU µs/GET',
      `peak, ${STREAM_MIB} MiB each way at once`,
      'VmHWM',
      'MiB/s both ways',
      'exec -> ready ms (median)',
    ],
  ];
  const results = new Map();
  for (const target of targets) {
    const proc = running.get(target) ?? (await target.start());
    await settle();
    const idle = rss(proc.pid);
    let afterGets;
    let peak;
    let cpu;
    if (proc.url) {
      cpu = await cachedGets(proc.url, headers, proc.pid);
      await settle();
      afterGets = rss(proc.pid);
      peak = await streamBothWays(proc.url, proc.pid, headers);
    }
    process.kill(proc.pid, 'SIGKILL');
    results.set(target, { idle, afterGets, peak, cpu });
  }
  // Start times last, one target at a time, with nothing else of the bench running.
  for (const target of targets) results.get(target).ready = await startTimes(target);
  for (const target of targets) {
    const { idle, afterGets, peak, ready, cpu } = results.get(target);
    rows.push([
      target.name,
      split(idle),
      afterGets ? split(afterGets) : '-',
      fmt(cpu, 0),
      peak ? split(peak) : '-',
      peak ? fmt(peak.hwm) : '-',
      peak ? fmt(peak.mibPerSecond, 0) : '-',
      fmt(ready, 0),
    ]);
  }
  table(rows);
  const bareIdle = results.get(bare).idle.total;
  console.log(
    `\nAbove the bare server (MiB): ${targets
      .filter((t) => t !== bare)
      .map((t) => {
        const r = results.get(t);
        return `${t.name}: idle +${fmt(r.idle.total - bareIdle)}, after GETs +${fmt(r.afterGets.total - bareIdle)}, peak +${fmt(r.peak.total - bareIdle)}`;
      })
      .join('; ')}`,
  );
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
