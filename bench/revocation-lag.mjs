// npm run bench:revocation: three Tollgate replicas on one Redis, two of them under wrk load.
// Repeatedly: make a token, warm it into the caches of replicas B and C, revoke it through
// replica A's admin API, then poll B and C until each refuses it. Reports the lag from
// "revoke returned" to "refused" (p50, p99, max) and what the replicas' own metric says.
// Then the open-stream case: a WebSocket and a download held open on each of B and C, the token
// revoked through A, and the time from the revoke's 200 to the last of the four ending.
import { execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { killOnExit, startReplicas } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const OPEN_ROUNDS = Number(process.env.BENCH_OPEN_ROUNDS ?? 100);

/** A WebSocket held open on a replica; `ended` resolves with the time its close arrived. */
async function openSocket(replica, secret) {
  const ws = new WebSocket(`${replica.proxy.replace('http', 'ws')}/v1/repositories/bench/stream`, { headers: { authorization: `Bearer ${secret}` } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const ended = new Promise((resolve) => ws.once('close', (code) => resolve({ at: performance.now(), ok: code === 1008 })));
  return { ended };
}

/** A download held open on a replica; `ended` resolves when its body is cut. */
async function openDownload(replica, secret) {
  const res = await fetch(`${replica.proxy}/v1/repositories/bench/query?hold`, { headers: { authorization: `Bearer ${secret}` } });
  if (res.status !== 200) throw new Error(`download refused: ${res.status}`);
  const reader = res.body.getReader();
  await reader.read();
  const ended = (async () => {
    try {
      while (!(await reader.read()).done);
      return { at: performance.now(), ok: false }; // ended whole: not what a revoke does
    } catch {
      return { at: performance.now(), ok: true };
    }
  })();
  return { ended };
}

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
  for (const w of wrks) killOnExit(w.pid);

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

  // Open streams: the last of four (a WebSocket and a download on each of B and C) to end.
  const lastEnded = [];
  const eachEnded = [];
  for (let i = 0; i < OPEN_ROUNDS; i++) {
    const token = await post(`${a.admin}/v1/tokens`, { kind: 'repository', name: `open${i}`, repository: 'bench', rights: ['query', 'stream'] });
    const open = await Promise.all([b, c].flatMap((replica) => [openSocket(replica, token.secret), openDownload(replica, token.secret)]));
    await post(`${a.admin}/v1/tokens/${token.token.id}/revoke`);
    const revokedAt = performance.now();
    const ends = await Promise.race([
      Promise.all(open.map((o) => o.ended)),
      new Promise((_, reject) => setTimeout(() => reject(new Error('an open stream outlived its revoked token by 5 s')), 5000)),
    ]);
    if (ends.some((end) => !end.ok)) throw new Error('an open stream ended some other way than by the revoke');
    // An exchange may end before the revoke's 200 reaches the benchmark: that counts as 0.
    const lagsHere = ends.map((end) => Math.max(0, end.at - revokedAt));
    eachEnded.push(...lagsHere);
    lastEnded.push(Math.max(...lagsHere));
  }
  const last = lastEnded.sort((x, y) => x - y);
  const each = eachEnded.sort((x, y) => x - y);
  const metricText = await (await fetch(`${b.admin}/metrics`)).text();
  const sum = Number(/^tollgate_invalidation_lag_seconds_sum (\S+)$/m.exec(metricText)[1]);
  const count = Number(/^tollgate_invalidation_lag_seconds_count (\S+)$/m.exec(metricText)[1]);
  console.log('| measure | p50 ms | p99 ms | max ms |');
  console.log(
    `| revoke returned -> replica refuses (${lags.length} samples, 2 replicas under wrk load) | ${percentile(sorted, 0.5).toFixed(2)} | ${percentile(sorted, 0.99).toFixed(2)} | ${sorted.at(-1).toFixed(2)} |`,
  );
  if (OPEN_ROUNDS > 0) {
    console.log(
      `| revoke returned -> last of 4 open streams ended (WebSocket + download on B and C; ${last.length} rounds) | ${percentile(last, 0.5).toFixed(2)} | ${percentile(last, 0.99).toFixed(2)} | ${last.at(-1).toFixed(2)} |`,
    );
    console.log(
      `| revoke returned -> each open stream ended (${each.length} samples) | ${percentile(each, 0.5).toFixed(2)} | ${percentile(each, 0.99).toFixed(2)} | ${each.at(-1).toFixed(2)} |`,
    );
  }
  console.log(`\nreplica B's tollgate_invalidation_lag_seconds: ${count} messages, mean ${((sum / count) * 1000).toFixed(2)} ms`);
  console.log(`rounds ${ROUNDS}; wrk -t1 -c4 on each of B and C; node ${process.version}; nproc ${execFileSync('nproc').toString().trim()}`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
