// HTTP/2 and gRPC rows of `npm run bench` (scenarios `h2` and `grpc`), each against the direct
// upstream in the same run, with the target's CPU time per request from /proc: BENCH_ROUNDS
// rounds (3), the targets alternated within each round, medians of the rounds.
//
// Run alone, it compares builds: `node bench/protocols.mjs h2|grpc DIR_A DIR_B ... [rounds]`
// serves each build (a copy of dist/, say bench/out/before) in front of one upstream and one gRPC
// upstream and alternates them round by round, in reverse order every other round, printing each
// round and the medians: for h2 the CPU µs/request over HTTP/2 and over HTTP/1.1 (both through
// h2load) and their ratio, for grpc the calls/s against the direct grpc-js server and the CPU
// µs/call.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { benchTokens, cpuSeconds, ensureCommand, initAdmin, serveTollgate, start, table, waitFor } from './lib.mjs';

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const seconds = (duration) => Number.parseFloat(duration) * (duration.endsWith('ms') ? 0.001 : duration.endsWith('m') ? 60 : 1);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The gRPC bench's routes: the Echo service by the token's own repository, and the HTTP bench path. */
const GRPC_ROUTES = '[{ path: "/tollgate.test.Echo/**", repositoryHeader: x-repository }, { path: "/v1/repositories/:repository/**" }]';
/** Streams per HTTP/2 connection h2load keeps open. */
const H2_STREAMS = 10;

/** h2load (nghttp2) for `seconds`: HTTP/2 by prior knowledge, or HTTP/1.1 with `h1`. */
function h2load(url, { connections, streams, duration, headers = [], h1 = false, pid }) {
  const args = ['-c', String(connections), '-m', String(h1 ? 1 : streams), '-D', String(seconds(duration)), '-t', '1'];
  if (h1) args.push('--h1');
  for (const h of headers) args.push('-H', h);
  const before = pid === undefined ? 0 : cpuSeconds(pid);
  const text = execFileSync('h2load', [...args, url], { encoding: 'utf8' });
  const cpu = pid === undefined ? Number.NaN : cpuSeconds(pid) - before;
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(text)[1]);
  const ok = Number(/status codes: (\d+) 2xx/.exec(text)?.[1] ?? 0);
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(text)?.[1] ?? '';
  const meanMs = Number.parseFloat(mean) * (mean.endsWith('us') ? 0.001 : mean.endsWith('ms') ? 1 : 1000);
  return { rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(text)[1]), ok, done, meanMs, cpuUsPerRequest: (cpu * 1e6) / done };
}

/** The Echo client constructor of test/fixtures/echo.proto. */
function echoClient() {
  const proto = new URL('../test/fixtures/echo.proto', import.meta.url).pathname;
  return grpc.loadPackageDefinition(protoLoader.loadSync(proto, { longs: Number, defaults: true })).tollgate.test.Echo;
}

/** Unary calls from `concurrency` loops on one grpc-js channel for `duration`. */
async function grpcLoad(address, secret, { concurrency, duration, pid }) {
  const Echo = echoClient();
  const client = new Echo(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (secret) metadata.set('authorization', `Bearer ${secret}`);
  const call = () => new Promise((resolve) => client.Unary({ text: 'ping' }, metadata, (err) => resolve(err ? err.code : 0)));
  // Warm the channel and the JIT before measuring.
  for (let i = 0; i < 200; i++) await call();
  const latencies = [];
  let failed = 0;
  const end = performance.now() + seconds(duration) * 1000;
  const before = cpuSeconds(pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        if ((await call()) !== 0) failed++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(pid) - before;
  client.close();
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p50: latencies[latencies.length >> 1],
    p99: latencies[Math.floor(latencies.length * 0.99)],
    failed,
    cpuUsPerRequest: (cpu * 1e6) / latencies.length,
  };
}

/** The medians of a list of runs, field by field. */
function medians(runs) {
  const out = {};
  for (const key of Object.keys(runs[0])) out[key] = median(runs.map((r) => r[key]));
  return out;
}

/** Starts bench/grpc-upstream.mjs; resolves to its port and pid. */
async function startGrpcUpstream() {
  const server = start('node', ['bench/grpc-upstream.mjs', '0']);
  const port = Number(await waitFor(() => server.output().trim(), 'gRPC upstream'));
  return { port, pid: server.child.pid };
}

/** Prints the HTTP/2 GET and gRPC unary tables. */
export async function protocolRows({ wanted, upstream, tollgate, path, duration, connections, dir }) {
  if (wanted('h2') && ensureCommand('h2load', 'nghttp2-client')) {
    console.log(
      `## 7. GET with a cached token over HTTP/2 (h2load -c${connections} -m${H2_STREAMS} by prior knowledge; HTTP/1.1 through the same tool, -m1; ${ROUNDS} rounds, alternated; median)\n`,
    );
    const auth = [`authorization: Bearer ${tollgate.secret}`];
    const load = { connections, duration };
    // The floor: node:http2 answering by itself (bench/floor-h2.mjs echo), beside node:http (the
    // direct upstream): what HTTP/2 costs a Node server per request before anything is proxied.
    const echo = start('node', ['bench/floor-h2.mjs', 'echo', '0']);
    const echoUrl = `http://127.0.0.1:${Number(await waitFor(() => echo.output().trim(), 'node:http2 echo'))}`;
    // The proxy floors, one per protocol in: the JS floor (bench/floor-net-proxy.mjs) for HTTP/1.1,
    // and for HTTP/2 in a bare node:http2 front forwarding to the same upstream over node:net
    // (bench/floor-h2.mjs h1relay), both with the same bearer check. Their ratio is what HTTP/2 in
    // costs a node:http2 proxy before any of Tollgate's own work.
    const floorH1 = start('node', ['bench/floor-net-proxy.mjs', upstream.url, '0', tollgate.secret]);
    const floorH1Url = `http://127.0.0.1:${Number(await waitFor(() => floorH1.output().trim(), 'JS floor'))}`;
    const floorH2 = start('node', ['bench/floor-h2.mjs', 'h1relay', upstream.url, '0', tollgate.secret]);
    const floorH2Url = `http://127.0.0.1:${Number(await waitFor(() => floorH2.output().trim(), 'HTTP/2 relay floor'))}`;
    const runs = { direct: [], echo: [], floorH1: [], floorH2: [], h2: [], h1: [] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.direct.push(h2load(`${upstream.url}${path}`, { ...load, h1: true, pid: upstream.pid }));
      runs.echo.push(h2load(`${echoUrl}${path}`, { ...load, streams: H2_STREAMS, pid: echo.child.pid }));
      runs.floorH1.push(h2load(`${floorH1Url}${path}`, { ...load, h1: true, headers: auth, pid: floorH1.child.pid }));
      runs.floorH2.push(h2load(`${floorH2Url}${path}`, { ...load, streams: H2_STREAMS, headers: auth, pid: floorH2.child.pid }));
      runs.h2.push(h2load(`${tollgate.url}${path}`, { ...load, streams: H2_STREAMS, headers: auth, pid: tollgate.pid }));
      runs.h1.push(h2load(`${tollgate.url}${path}`, { ...load, h1: true, headers: auth, pid: tollgate.pid }));
    }
    echo.child.kill();
    floorH1.child.kill();
    floorH2.child.kill();
    const direct = medians(runs.direct);
    const echoed = medians(runs.echo);
    const h2 = medians(runs.h2);
    const h1 = medians(runs.h1);
    const fH1 = medians(runs.floorH1);
    const fH2 = medians(runs.floorH2);
    // The ratio of each round, then their median: both protocols saw the same minute of the machine.
    const ratio = (a, b) => median(a.map((r, i) => r.cpuUsPerRequest / b[i].cpuUsPerRequest));
    const rows = [['target', 'protocol', 'req/s', 'mean ms', 'CPU µs/req', '2xx', 'vs direct', 'CPU vs HTTP/1.1', 'CPU vs floor']];
    const ok = (r) => `${r.ok}/${r.done}`;
    const row = (name, protocol, r, vsH1, vsFloor) =>
      rows.push([name, protocol, fmt(r.rps), fmt(r.meanMs, 2), fmt(r.cpuUsPerRequest), ok(r), fmt(r.rps / direct.rps, 2), vsH1, vsFloor]);
    row(upstream.name, 'HTTP/1.1', direct, '1.00', '');
    row('node:http2 server alone (floor-h2.mjs echo)', 'HTTP/2', echoed, fmt(ratio(runs.echo, runs.direct), 2), '');
    row('JS floor (net + llhttp + token check)', 'HTTP/1.1 (same tool)', fH1, '1.00', '1.00');
    row('HTTP/2 relay floor (floor-h2.mjs h1relay)', 'HTTP/2 in, HTTP/1.1 out', fH2, fmt(ratio(runs.floorH2, runs.floorH1), 2), '1.00');
    row(tollgate.name, 'HTTP/1.1 (same tool)', h1, '1.00', fmt(ratio(runs.h1, runs.floorH1), 2));
    row(tollgate.name, 'HTTP/2 in, HTTP/1.1 out', h2, fmt(ratio(runs.h2, runs.h1), 2), fmt(ratio(runs.h2, runs.floorH2), 2));
    table(rows);
    console.log(
      "\nCPU vs HTTP/1.1: the median over the rounds of HTTP/2 CPU µs/req divided by HTTP/1.1 CPU µs/req in the same round (for the node:http2 server alone, divided by node:http's, the direct row; for the relay floor, by the JS floor's). CPU vs floor: the same against the floor of the protocol the request came in on.\n",
    );
  }
  if (wanted('grpc')) {
    console.log(
      `## 8. gRPC unary calls (grpc-js client, ${connections} calls in flight on one channel; grpc-js server; ${ROUNDS} rounds, alternated; median)\n`,
    );
    const server = await startGrpcUpstream();
    const env = {
      TOLLGATE_STORE_FILE_PATH: join(dir, 'grpc-store.jsonl'),
      TOLLGATE_PROXY_UPSTREAM: upstream.url,
      TOLLGATE_PROXY_GRPC_UPSTREAM: `h2c://127.0.0.1:${server.port}`,
      TOLLGATE_ROUTES: GRPC_ROUTES,
    };
    const admin = initAdmin(env);
    const served = await serveTollgate(env, 'tollgate (gRPC)');
    const secret = await (await benchTokens(served.admin, admin))();
    const load = { concurrency: connections, duration };
    // The floor: a bare node:http2 relay with the same bearer check (bench/floor-h2.mjs relay).
    const relay = start('node', ['bench/floor-h2.mjs', 'relay', `http://127.0.0.1:${server.port}`, '0', secret]);
    const relayPort = Number(await waitFor(() => relay.output().trim(), 'node:http2 relay'));
    const runs = { direct: [], floor: [], through: [] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.direct.push(await grpcLoad(`127.0.0.1:${server.port}`, undefined, { ...load, pid: server.pid }));
      runs.floor.push(await grpcLoad(`127.0.0.1:${relayPort}`, secret, { ...load, pid: relay.child.pid }));
      runs.through.push(await grpcLoad(new URL(served.proxy).host, secret, { ...load, pid: served.pid }));
    }
    relay.child.kill();
    const direct = medians(runs.direct);
    const floor = medians(runs.floor);
    const through = medians(runs.through);
    const rateRatio = median(runs.through.map((r, i) => r.rps / runs.direct[i].rps));
    const floorRatio = median(runs.floor.map((r, i) => r.rps / runs.direct[i].rps));
    const rows = [['target', 'calls/s', 'p50 ms', 'p99 ms', 'CPU µs/call', 'failed', 'vs direct']];
    rows.push(['direct gRPC upstream (grpc-js)', fmt(direct.rps), fmt(direct.p50, 2), fmt(direct.p99, 2), fmt(direct.cpuUsPerRequest), direct.failed, '1.00']);
    rows.push([
      'JS floor: node:http2 relay + token check',
      fmt(floor.rps),
      fmt(floor.p50, 2),
      fmt(floor.p99, 2),
      fmt(floor.cpuUsPerRequest),
      floor.failed,
      fmt(floorRatio, 2),
    ]);
    rows.push([
      'tollgate (file store) -> h2c',
      fmt(through.rps),
      fmt(through.p50, 2),
      fmt(through.p99, 2),
      fmt(through.cpuUsPerRequest),
      through.failed,
      fmt(rateRatio, 2),
    ]);
    table(rows);
    console.log(
      '\nThe CPU column is the process answering: the upstream for the direct row, the relay or Tollgate alone for theirs. vs direct: the median over the rounds of the two rates in the same round.\n',
    );
  }
}

/** `node bench/protocols.mjs h2|grpc DIR_A DIR_B ... [rounds]`: builds compared, alternated round by round. */
async function compareBuilds(args) {
  const scenario = args[0];
  const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
  const builds = args.slice(1).filter((a) => !/^\d+$/.test(a));
  if ((scenario !== 'h2' && scenario !== 'grpc') || builds.length < 1) {
    console.error('usage: node bench/protocols.mjs h2|grpc DIR_A [DIR_B ...] [rounds]');
    process.exit(2);
  }
  if (scenario === 'h2' && !ensureCommand('h2load', 'nghttp2-client')) throw new Error('h2load is needed: apt-get install nghttp2-client');
  const duration = process.env.BENCH_DURATION ?? '8s';
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
  const path = '/v1/repositories/bench/query';
  const upstream = start('node', ['bench/upstream.mjs', '0']);
  const upstreamUrl = `http://127.0.0.1:${Number(await waitFor(() => upstream.output().trim(), 'upstream'))}`;
  const grpcServer = await startGrpcUpstream();
  const targets = [];
  for (const dir of builds) {
    const main = join(resolve(dir), 'main.js');
    const env = {
      TOLLGATE_PROXY_UPSTREAM: upstreamUrl,
      TOLLGATE_PROXY_GRPC_UPSTREAM: `h2c://127.0.0.1:${grpcServer.port}`,
      TOLLGATE_ROUTES: GRPC_ROUTES,
      TOLLGATE_STORE_FILE_PATH: join(mkdtempSync(join(tmpdir(), 'tollgate-protocols-')), 'store.jsonl'),
    };
    const admin = initAdmin(env, main);
    const served = await serveTollgate(env, dir, { main });
    const secret = await (await benchTokens(served.admin, admin))();
    targets.push({ dir, url: `${served.proxy}${path}`, host: new URL(served.proxy).host, secret, pid: served.pid, runs: [] });
  }
  console.log(`# node bench/protocols.mjs ${args.join(' ')}; ${duration} per run, ${connections} connections; ${new Date().toISOString()}\n`);
  const h2Load = { connections, duration };
  const grpcLoadOptions = { concurrency: connections, duration };
  // JIT warm-up, not counted.
  for (const t of targets) {
    const auth = [`authorization: Bearer ${t.secret}`];
    if (scenario === 'h2') h2load(t.url, { ...h2Load, duration: '3s', streams: H2_STREAMS, headers: auth });
    if (scenario === 'h2') h2load(t.url, { ...h2Load, duration: '3s', h1: true, headers: auth });
    if (scenario === 'grpc') await grpcLoad(t.host, t.secret, { ...grpcLoadOptions, duration: '3s', pid: t.pid });
  }
  const directRuns = [];
  for (let round = 0; round < rounds; round++) {
    if (scenario === 'grpc') directRuns.push(await grpcLoad(`127.0.0.1:${grpcServer.port}`, undefined, { ...grpcLoadOptions, pid: grpcServer.pid }));
    // Every other round runs the builds in reverse order: the one measured second in a round
    // measured worse by itself on a loaded machine, so neither build always goes second.
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const auth = [`authorization: Bearer ${t.secret}`];
      if (scenario === 'h2') {
        const h2 = h2load(t.url, { ...h2Load, streams: H2_STREAMS, headers: auth, pid: t.pid });
        const h1 = h2load(t.url, { ...h2Load, h1: true, headers: auth, pid: t.pid });
        const ratio = h2.cpuUsPerRequest / h1.cpuUsPerRequest;
        t.runs.push({ h2, h1, ratio });
        const h2Text = `h2 ${fmt(h2.rps)} req/s ${fmt(h2.cpuUsPerRequest, 1)} µs CPU/req (${h2.ok}/${h2.done} 2xx)`;
        console.log(`round ${round + 1} ${t.dir}: ${h2Text}; h1 ${fmt(h1.rps)} req/s ${fmt(h1.cpuUsPerRequest, 1)} µs CPU/req; h2/h1 CPU ${fmt(ratio, 2)}`);
      } else {
        const through = await grpcLoad(t.host, t.secret, { ...grpcLoadOptions, pid: t.pid });
        const direct = directRuns[round];
        const ratio = through.rps / direct.rps;
        t.runs.push({ through, ratio });
        const rate = `${fmt(through.rps)} calls/s (direct ${fmt(direct.rps)}; ${fmt(ratio, 2)}x)`;
        console.log(`round ${round + 1} ${t.dir}: ${rate}, ${fmt(through.cpuUsPerRequest, 1)} µs CPU/call, ${through.failed} failed`);
      }
    }
  }
  console.log();
  for (const t of targets) {
    const m = (pick, digits = 0) => fmt(median(t.runs.map(pick)), digits);
    if (scenario === 'h2') {
      const h2 = `h2 ${m((r) => r.h2.cpuUsPerRequest, 1)} µs CPU/req (${m((r) => r.h2.rps)} req/s)`;
      const h1 = `h1 ${m((r) => r.h1.cpuUsPerRequest, 1)} µs CPU/req (${m((r) => r.h1.rps)} req/s)`;
      console.log(`${t.dir}: median ${h2}, ${h1}, h2/h1 CPU ${m((r) => r.ratio, 2)}`);
    } else {
      const direct = fmt(median(directRuns.map((r) => r.rps)));
      console.log(
        `${t.dir}: median ${m((r) => r.through.rps)} calls/s, ${m((r) => r.ratio, 2)}x direct (direct ${direct}), ${m((r) => r.through.cpuUsPerRequest, 1)} µs CPU/call`,
      );
    }
  }
  const [a, ...others] = targets;
  const cpu = (run) => (scenario === 'h2' ? run.h2.cpuUsPerRequest : run.through.cpuUsPerRequest);
  for (const b of others) {
    const diffs = a.runs.map((r, i) => cpu(b.runs[i]) - cpu(r)).sort((x, y) => x - y);
    console.log(
      `${b.dir} vs ${a.dir}: ${scenario} CPU µs difference per round ${diffs.map((d) => d.toFixed(1)).join(', ')}; median ${diffs[diffs.length >> 1].toFixed(1)}; lower in ${diffs.filter((d) => d < 0).length} of ${diffs.length}`,
    );
  }
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await compareBuilds(process.argv.slice(2));
