// HTTP/2 and gRPC rows of `npm run bench` (scenarios `h2` and `grpc`), each against the direct
// upstream in the same run, with the target's CPU time per request from /proc.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { benchTokens, cpuSeconds, ensureCommand, initAdmin, serveTollgate, start, table, waitFor } from './lib.mjs';

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const seconds = (duration) => Number.parseFloat(duration) * (duration.endsWith('ms') ? 0.001 : duration.endsWith('m') ? 60 : 1);

/** h2load (nghttp2) for `seconds`: HTTP/2 by prior knowledge, or HTTP/1.1 with `h1`. */
function h2load(url, { connections, streams, duration, headers = [], h1 = false, pid }) {
  const args = ['-c', String(connections), '-m', String(h1 ? 1 : streams), '-D', String(seconds(duration)), '-t', '1'];
  if (h1) args.push('--h1');
  for (const h of headers) args.push('-H', h);
  const before = cpuSeconds(pid);
  const text = execFileSync('h2load', [...args, url], { encoding: 'utf8' });
  const cpu = cpuSeconds(pid) - before;
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(text)[1]);
  const ok = Number(/status codes: (\d+) 2xx/.exec(text)?.[1] ?? 0);
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(text)?.[1] ?? '';
  const meanMs = Number.parseFloat(mean) * (mean.endsWith('us') ? 0.001 : mean.endsWith('ms') ? 1 : 1000);
  return { rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(text)[1]), ok, done, meanMs, cpuUsPerRequest: (cpu * 1e6) / done };
}

/** Unary calls from `concurrency` loops on one grpc-js channel for `duration`. */
async function grpcLoad(address, secret, { concurrency, duration, pid }) {
  const proto = new URL('../test/fixtures/echo.proto', import.meta.url).pathname;
  const { Echo } = grpc.loadPackageDefinition(protoLoader.loadSync(proto, { longs: Number, defaults: true })).tollgate.test;
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

/** Prints the HTTP/2 GET and gRPC unary tables. */
export async function protocolRows({ wanted, upstream, tollgate, path, duration, connections, dir }) {
  if (wanted('h2') && ensureCommand('h2load', 'nghttp2-client')) {
    console.log(`## 7. GET with a cached token over HTTP/2 (h2load -c${connections} -m10 by prior knowledge; the upstream over HTTP/1.1, -m1)\n`);
    const rows = [['target', 'protocol', 'req/s', 'mean ms', 'CPU µs/req', '2xx', 'vs direct']];
    const direct = h2load(`${upstream.url}${path}`, { connections, streams: 1, duration, h1: true, pid: upstream.pid });
    const h2 = h2load(`${tollgate.url}${path}`, {
      connections,
      streams: 10,
      duration,
      headers: [`authorization: Bearer ${tollgate.secret}`],
      pid: tollgate.pid,
    });
    const h1 = h2load(`${tollgate.url}${path}`, {
      connections,
      streams: 1,
      duration,
      h1: true,
      headers: [`authorization: Bearer ${tollgate.secret}`],
      pid: tollgate.pid,
    });
    rows.push([upstream.name, 'HTTP/1.1', fmt(direct.rps), fmt(direct.meanMs, 2), fmt(direct.cpuUsPerRequest), `${direct.ok}/${direct.done}`, '1.00']);
    rows.push([
      tollgate.name,
      'HTTP/2 in, HTTP/1.1 out',
      fmt(h2.rps),
      fmt(h2.meanMs, 2),
      fmt(h2.cpuUsPerRequest),
      `${h2.ok}/${h2.done}`,
      fmt(h2.rps / direct.rps, 2),
    ]);
    rows.push([
      tollgate.name,
      'HTTP/1.1 (same tool)',
      fmt(h1.rps),
      fmt(h1.meanMs, 2),
      fmt(h1.cpuUsPerRequest),
      `${h1.ok}/${h1.done}`,
      fmt(h1.rps / direct.rps, 2),
    ]);
    table(rows);
    console.log();
  }
  if (wanted('grpc')) {
    console.log(`## 8. gRPC unary calls (grpc-js client, ${connections} calls in flight on one channel; grpc-js server)\n`);
    const server = start('node', ['bench/grpc-upstream.mjs', '0']);
    const grpcPort = Number(await waitFor(() => server.output().trim(), 'gRPC upstream'));
    const env = {
      TOLLGATE_STORE_FILE_PATH: join(dir, 'grpc-store.jsonl'),
      TOLLGATE_PROXY_UPSTREAM: upstream.url,
      TOLLGATE_PROXY_GRPC_UPSTREAM: `h2c://127.0.0.1:${grpcPort}`,
      TOLLGATE_ROUTES: '[{ path: "/tollgate.test.Echo/**", repositoryHeader: x-repository }]',
    };
    const admin = initAdmin(env);
    const served = await serveTollgate(env, 'tollgate (gRPC)');
    const secret = await (await benchTokens(served.admin, admin))();
    const load = { concurrency: connections, duration };
    const direct = await grpcLoad(`127.0.0.1:${grpcPort}`, undefined, { ...load, pid: server.child.pid });
    const through = await grpcLoad(new URL(served.proxy).host, secret, { ...load, pid: served.pid });
    const rows = [['target', 'calls/s', 'p50 ms', 'p99 ms', 'CPU µs/call', 'failed', 'vs direct']];
    rows.push(['direct gRPC upstream (grpc-js)', fmt(direct.rps), fmt(direct.p50, 2), fmt(direct.p99, 2), fmt(direct.cpuUsPerRequest), direct.failed, '1.00']);
    rows.push([
      'tollgate (file store) -> h2c',
      fmt(through.rps),
      fmt(through.p50, 2),
      fmt(through.p99, 2),
      fmt(through.cpuUsPerRequest),
      through.failed,
      fmt(through.rps / direct.rps, 2),
    ]);
    table(rows);
    console.log('\nThe CPU column is the process answering: the upstream for the direct row, Tollgate alone for its row.\n');
  }
}
