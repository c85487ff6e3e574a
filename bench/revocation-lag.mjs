// npm run bench:revocation: three Tollgate replicas on one Redis, two of them under wrk load.
// Repeatedly: make a token, warm it into the caches of replicas B and C, revoke it through
// replica A's admin API, then poll B and C until each refuses it. Reports the lag from
// "revoke returned" to "refused" (p50, p99, max) and what the replicas' own metric says.
import { execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { killOnExit, startReplicas } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function main() {
  const { admin, replicas } = await startReplicas(3);
  const [a, b, c] = replicas;
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const post = (url, body) => fetch(url, { method: 'POST', headers, body: body && JSON.stringify(body) }).then((r) => r.json());
  await post(`${a.admin}/v1/repositories`, { name: 'bench' });
  const load = await post(`${a.admin}/v1/tokens`, { kind: 'repository', name: 'load', repository: 'bench', rights: ['query'] });
  const path = '/v1/repositories/bench/query';
  const wrks = [b, c].map((r) =>
    spawn('wrk', ['-t1', '-c4', '-d600s', '-H', `Authorization: Bearer ${load.secret}`, `${r.proxy}${path}`], { stdio: 'ignore' }),
  );
  wrks.forEach((w) => killOnExit(w.pid));

  const status = async (replica, secret) => (await fetch(`${replica.proxy}${path}`, { headers: { authorization: `Bearer ${secret}` } })).status;
  const lags = [];
  for (let i = 0; i < ROUNDS; i++) {
    const token = await post(`${a.admin}/v1/tokens`, { kind: 'repository', name: `t${i}`, repository: 'bench', rights: ['query'] });
    if ((await status(b, token.secret)) !== 200 || (await status(c, token.secret)) !== 200) throw new Error('warm-up failed');
    await post(`${a.admin}/v1/tokens/${token.token.id}/revoke`);
    const revokedAt = performance.now();
    for (const replica of [b, c]) {
      while ((await status(replica, token.secret)) !== 401) {
        if (performance.now() - revokedAt > 5000) throw new Error('a revoked token was served for 5 s');
      }
      lags.push(performance.now() - revokedAt);
    }
  }
  const sorted = lags.sort((x, y) => x - y);
  const metricText = await (await fetch(`${b.admin}/metrics`)).text();
  const sum = Number(/^tollgate_invalidation_lag_seconds_sum (\S+)$/m.exec(metricText)[1]);
  const count = Number(/^tollgate_invalidation_lag_seconds_count (\S+)$/m.exec(metricText)[1]);
  console.log('| measure | p50 ms | p99 ms | max ms |');
  console.log(`| revoke returned -> replica refuses (${lags.length} samples, 2 replicas under wrk load) | ${percentile(sorted, 0.5).toFixed(2)} | ${percentile(sorted, 0.99).toFixed(2)} | ${sorted.at(-1).toFixed(2)} |`);
  console.log(`\nreplica B's tollgate_invalidation_lag_seconds: ${count} messages, mean ${((sum / count) * 1000).toFixed(2)} ms`);
  console.log(`rounds ${ROUNDS}; wrk -t1 -c4 on each of B and C; node ${process.version}; nproc ${execFileSync('nproc').toString().trim()}`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
