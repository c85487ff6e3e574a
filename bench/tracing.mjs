// npm run bench -- tracing: the CPU one cached GET costs Tollgate with tracing off (the default:
// nothing of OpenTelemetry loaded), on at 1% sampling (the default ratio) and on at 100%, in one
// run on this machine with the same load. Each Tollgate has its own file store; the traced ones
// export to a small OTLP/HTTP sink (bench/otlp-sink.mjs, its CPU not counted). Rounds alternate
// between the targets so a slower minute of a shared machine falls on each of them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchTokens, ensureCommand, initAdmin, serveTollgate, start, table, waitFor, wrk } from './lib.mjs';

const DURATION = process.env.BENCH_DURATION ?? '5s';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PATH = '/v1/repositories/bench/query';
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function startTarget(name, upstreamUrl, env) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-tracing-'));
  const all = { TOLLGATE_PROXY_UPSTREAM: upstreamUrl, TOLLGATE_STORE_FILE_PATH: join(dir, 'store.jsonl'), ...env };
  const admin = initAdmin(all);
  const served = await serveTollgate(all, name);
  const secret = await (await benchTokens(served.admin, admin))();
  return { name, url: served.proxy, pid: served.pid, node: served.node, secret };
}

async function main() {
  if (!ensureCommand('wrk', 'wrk')) throw new Error('wrk is needed: apt-get install wrk');
  const upstreamProc = start('node', ['bench/upstream.mjs', '0']);
  const upstream = `http://127.0.0.1:${Number(await waitFor(() => upstreamProc.output().trim(), 'upstream'))}`;
  const sinkProc = start('node', ['bench/otlp-sink.mjs']);
  const sink = { endpoint: `http://127.0.0.1:${Number(await waitFor(() => sinkProc.output().trim(), 'OTLP sink'))}` };
  const traced = (ratio) => ({ TOLLGATE_TELEMETRY_OTLP_ENDPOINT: sink.endpoint, TOLLGATE_TELEMETRY_SAMPLE_RATIO: String(ratio) });
  // BENCH_TRACING_RATIOS="0,0.01" picks other ratios to set beside tracing off.
  const ratios = (process.env.BENCH_TRACING_RATIOS ?? '0.01,1').split(',').map(Number);
  const targets = [await startTarget('tracing off', upstream, {})];
  for (const ratio of ratios) targets.push(await startTarget(`tracing on, ${ratio * 100}% sampled`, upstream, traced(ratio)));
  const load = { connections: CONNECTIONS, duration: DURATION };
  console.log(
    `# npm run bench -- tracing; wrk -t1 -c${CONNECTIONS} -d${DURATION}, ${ROUNDS} rounds (medians); Tollgate on node ${targets[0].node}; nproc ${execFileSync('nproc').toString().trim()}; load average before ${loadAverage()}; ${new Date().toISOString()}\n`,
  );
  for (const t of targets) wrk(`${t.url}${PATH}`, { headers: [`Authorization: Bearer ${t.secret}`], connections: CONNECTIONS, duration: '2s', pid: t.pid }); // warm-up: JIT, the token cached
  const results = new Map(targets.map((t) => [t, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) results.get(t).push(wrk(`${t.url}${PATH}`, { headers: [`Authorization: Bearer ${t.secret}`], ...load, pid: t.pid }));
  }
  const rows = [['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'CPU vs off', 'req/s vs off']];
  const of = (r) => ({
    rps: median(r.map((x) => x.rps)),
    p50: median(r.map((x) => x.p50)),
    p99: median(r.map((x) => x.p99)),
    cpu: median(r.map((x) => x.cpuUsPerRequest)),
  });
  const off = of(results.get(targets[0]));
  for (const t of targets) {
    const r = of(results.get(t));
    rows.push([t.name, fmt(r.rps), fmt(r.p50, 2), fmt(r.p99, 2), fmt(r.cpu, 1), fmt(r.cpu / off.cpu, 2), fmt(r.rps / off.rps, 2)]);
  }
  table(rows);
  const seen = await (await fetch(`${sink.endpoint}/count`)).json();
  console.log(`\nLoad average after: ${loadAverage()}. The OTLP sink took ${seen.exports} exports (${(seen.bytes / 1024).toFixed(0)} KiB) so far.`);
  process.exit(0);
}

await main();
