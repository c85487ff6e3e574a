// npm run bench:soak [-- seconds]: mixed load with revocations and faults against two Tollgate
// replicas on Redis behind Sentinel (10 minutes by default; SOAK_SECONDS changes it).
//
// Workers send GETs, 64 KiB uploads and 1 MiB downloads with 200 tokens to both replicas, while
// long-lived downloads and WebSockets stay open through the revocations; a token is revoked or
// restored every 40 ms through replica A. Faults, all in the first half so the second half
// measures memory at rest: the Redis master killed and restarted from its append-only file (10%),
// replica B sent SIGTERM and started again (20%), the upstream killed and restarted (30%), and the
// master killed until Sentinel promotes the replica (40%).
//
// Every outcome is classified (bench/soak-ledger.mjs): 200; 401; 503 in a store outage; an
// exchange cut because its token was being revoked (correct); and the defects: served past the
// revocation bound, a 401 on a token never revoked, any other cut, any other 5xx or status, a
// replica that exits unasked. It prints the counts, revocation lag percentiles and each replica's
// RSS split into anonymous and file-backed pages over time, and exits 1 on any defect, on RSS
// growth over SOAK_GROWTH_MIB (5) in the second half, or on RSS past SOAK_LIMIT_MIB (256, the
// manifests' limit). Replicas run with the manifests' NODE_OPTIONS unless SOAK_NODE_OPTIONS says.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Agent, Pool, request } from 'undici';
import { WebSocket } from 'ws';
import { freePort, initAdmin, serveTollgate, start, table, waitFor } from './lib.mjs';
import { Ledger, percentile, slope } from './soak-ledger.mjs';
import { startSentinelRedis } from './soak-redis.mjs';

const env = process.env;
const SECONDS = Number(process.argv[2] ?? env.SOAK_SECONDS ?? 600);
const TOKENS = Number(env.SOAK_TOKENS ?? 200);
const STEADY = Number(env.SOAK_STEADY_TOKENS ?? 20); // never revoked: a 401 or a cut on one is wrongful
const WORKERS = Number(env.SOAK_WORKERS ?? 16);
const STREAMS = Number(env.SOAK_STREAMS ?? 6); // of each kind: downloads held open, WebSockets
const CHANGE_MS = Number(env.SOAK_CHANGE_MS ?? 40);
const BOUND_MS = Number(env.SOAK_BOUND_MS ?? 100);
const GROWTH_MIB = Number(env.SOAK_GROWTH_MIB ?? 5);
const LIMIT_MIB = Number(env.SOAK_LIMIT_MIB ?? 256);
const NODE_OPTIONS = env.SOAK_NODE_OPTIONS ?? '--max-semi-space-size=4'; // deploy/base/deployment.yaml
const MAIN = env.SOAK_MAIN ?? 'dist/main.js';
const FAULTS = (env.SOAK_FAULTS ?? 'redis,replica,upstream,failover').split(',').filter(Boolean);
const GRACE_MS = 3000; // after a fault ends, the window stays open this long (reconnects, pools)
const TTL_MS = 30_000; // cache.ttl (default): the bound for a replica that missed a message

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const elapsed = (from) => (performance.now() - from) / 1000;
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

/** RSS split as the kernel reports it: anonymous (heap, malloc, buffers) and file-backed (code, mapped files). */
function rssOf(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)[1]);
  // Open descriptors too: a socket that never closes shows there first.
  return { rss: kib('VmRSS') / 1024, anon: kib('RssAnon') / 1024, file: kib('RssFile') / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

async function heapOf(replica) {
  const text = await (await fetch(`${replica.admin}/metrics`)).text();
  const mib = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1048576;
  return { heapUsed: mib('nodejs_heap_size_used_bytes'), heapTotal: mib('nodejs_heap_size_total_bytes'), external: mib('nodejs_external_memory_bytes') };
}

async function main() {
  const redis = await startSentinelRedis();
  const upstreamPort = await freePort();
  let upstream = start('node', ['bench/upstream.mjs', String(upstreamPort)]);
  await waitFor(() => upstream.output().length > 0, 'upstream');
  const tollgateEnv = {
    TOLLGATE_STORE_BACKEND: 'redis',
    ...redis.env,
    TOLLGATE_PROXY_UPSTREAM: `http://127.0.0.1:${upstreamPort}`,
    TOLLGATE_PROXY_SHUTDOWN_GRACE: '5s',
    NODE_OPTIONS,
  };
  const admin = initAdmin(tollgateEnv, MAIN);
  const ledger = new Ledger({ boundMs: BOUND_MS, ttlMs: TTL_MS, graceMs: GRACE_MS });

  const replicas = [];
  const launch = async (index) => {
    const served = await serveTollgate(tollgateEnv, `replica ${'AB'[index]}`, { main: MAIN });
    const replica = { ...served, name: 'AB'[index], up: true, pool: new Pool(served.proxy, { connections: WORKERS }), started: performance.now() };
    served.child.once('exit', (code, signal) => {
      if (!replica.stopping) ledger.count('replica exited unasked', { replica: replica.name, code, signal });
      replica.up = false;
    });
    replicas[index] = replica;
    return replica;
  };
  await launch(0);
  await launch(1);
  const [a] = replicas;
  const adminHeaders = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const adminCall = (path, body) => request(`${a.admin}${path}`, { method: 'POST', headers: adminHeaders, body: body && JSON.stringify(body) });
  await (await adminCall('/v1/repositories', { name: 'soak' })).body.dump();
  const tokens = [];
  for (let i = 0; i < TOKENS; i++) {
    const res = await adminCall('/v1/tokens', { kind: 'repository', name: `soak ${i}`, repository: 'soak', rights: ['query', 'stream'] });
    const made = await res.body.json();
    tokens.push({ id: made.token.id, secret: made.secret, steady: i < STEADY, state: 'active', revokedAt: 0, revokes: 0, uncertain: false, streams: 0 });
  }
  const revocable = tokens.filter((t) => !t.steady);
  // Traffic only once both replicas say they are ready, as a Service would send it.
  await waitFor(
    async () => (await Promise.all(replicas.map((r) => fetch(`${r.admin}/readyz`).then((res) => res.ok)))).every(Boolean),
    'replicas ready',
    60_000,
  );

  const started = performance.now();
  ledger.started = started;
  const end = started + SECONDS * 1000;
  const running = () => performance.now() < end;
  const liveReplicas = () => replicas.filter((r) => r.up && !r.stopping);

  // Memory, every 2 s from /proc, with the V8 heap from /metrics every 10 s.
  const memory = { A: [], B: [] };
  let ticks = 0;
  const sampler = setInterval(async () => {
    const heap = ticks++ % 5 === 0;
    for (const replica of liveReplicas()) {
      try {
        const row = { at: elapsed(started), pid: replica.pid, ...rssOf(replica.pid) };
        if (heap) Object.assign(row, await heapOf(replica));
        memory[replica.name].push(row);
      } catch {
        // exited between the check and the read: its exit is judged elsewhere
      }
    }
  }, 2000);

  // Short requests: GET, 64 KiB upload, 1 MiB download.
  const upload = Buffer.alloc(64 * 1024, 7);
  let requests = 0;
  async function worker() {
    while (running()) {
      const token = Math.random() < 0.1 ? pick(tokens.slice(0, STEADY)) : pick(tokens);
      const replica = pick(liveReplicas());
      if (replica === undefined) {
        await sleep(10);
        continue;
      }
      const kind = Math.random();
      const isUpload = kind < 0.2;
      const isDownload = kind >= 0.2 && kind < 0.3;
      const at = ledger.snapshot(token);
      const from = performance.now();
      let status;
      let error;
      try {
        const res = await replica.pool.request({
          path: isUpload ? '/v1/repositories/soak/stream' : `/v1/repositories/soak/query${isDownload ? '?bytes=1048576' : ''}`,
          method: isUpload ? 'POST' : 'GET',
          headers: { authorization: `Bearer ${token.secret}` },
          body: isUpload ? upload : undefined,
        });
        status = res.statusCode;
        // A 5xx says which problem it was (the type names it; no secret is in a problem body).
        if (status >= 500) error = { message: /"type":"([^"]+)"/.exec(await res.body.text())?.[1] };
        else await res.body.dump({ limit: 2 << 20 });
      } catch (err) {
        error = err;
      }
      requests++;
      ledger.judge(token, at, { status, error, replica: replica.name, from, to: performance.now() });
    }
  }

  // Long-lived exchanges: a download that never ends by itself, or a WebSocket, held until cut.
  const streamAgent = new Agent({ connections: 1 });
  const stopStreams = new AbortController();
  setTimeout(() => stopStreams.abort(), SECONDS * 1000).unref();
  let streamsOpened = 0;
  async function holdDownload(replica, token) {
    let res;
    try {
      res = await request(`${replica.proxy}/v1/repositories/soak/query?hold`, {
        headers: { authorization: `Bearer ${token.secret}` },
        dispatcher: streamAgent,
        signal: stopStreams.signal,
      });
    } catch (err) {
      return running() ? { error: err } : { held: true };
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { status: res.statusCode };
    }
    streamsOpened++;
    try {
      for await (const _ of res.body);
      return running() ? { error: new Error('ended whole'), opened: true } : { held: true };
    } catch (err) {
      return running() ? { error: err, opened: true } : { held: true };
    }
  }
  function holdSocket(replica, token) {
    return new Promise((resolve) => {
      const ws = new WebSocket(`${replica.proxy.replace('http', 'ws')}/v1/repositories/soak/stream`, { headers: { authorization: `Bearer ${token.secret}` } });
      let opened = false;
      const stop = setInterval(() => {
        if (!running()) ws.terminate();
      }, 200);
      ws.on('unexpected-response', (_, res) => {
        res.resume();
        clearInterval(stop);
        resolve({ status: res.statusCode });
        ws.terminate();
      });
      ws.on('open', () => {
        opened = true;
        streamsOpened++;
      });
      ws.on('error', () => {});
      ws.on('close', (code) => {
        clearInterval(stop);
        if (!running()) return resolve({ held: true });
        // 1008: ended by policy (the token); 1001: the server going away (shutdown).
        resolve(opened ? { error: new Error(`closed ${code}`), code, opened } : { error: new Error(`closed ${code} before open`) });
      });
    });
  }
  async function streamer(kind) {
    while (running()) {
      const replica = pick(liveReplicas());
      const token = pick(revocable.filter((t) => t.state === 'active' && !t.uncertain)) ?? pick(revocable);
      if (replica === undefined) {
        await sleep(50);
        continue;
      }
      const at = ledger.snapshot(token);
      const from = performance.now();
      token.streams++;
      const outcome = await (kind === 'download' ? holdDownload(replica, token) : holdSocket(replica, token));
      token.streams--;
      const to = performance.now();
      if (outcome.held) break;
      ledger.judge(token, at, { status: outcome.status, error: outcome.error, replica: replica.name, from, to });
      // The revoke's lag as the open exchange saw it: from its 200 to the cut (0 when the cut came first).
      if (outcome.opened && token.revokes > at.revokes && !ledger.inWindow('store', from, to)) {
        ledger.streamLags.push(token.state === 'revoked' ? Math.max(0, to - token.revokedAt) : 0);
      }
      if (outcome.status !== undefined) await sleep(20);
    }
  }

  // Revokes and restores through replica A; a third of revokes aim at a token with a stream open.
  let changes = 0;
  let failedChanges = 0;
  async function mutator() {
    while (running()) {
      const withStream = revocable.filter((t) => t.streams > 0 && t.state === 'active');
      const token = Math.random() < 0.33 && withStream.length > 0 ? pick(withStream) : pick(revocable);
      if (token.state === 'active' || token.state === 'revoked') {
        const revoking = token.state === 'active';
        token.state = revoking ? 'revoking' : 'restoring';
        if (revoking) token.revokes++;
        let ok = false;
        try {
          const res = await adminCall(`/v1/tokens/${token.id}/${revoking ? 'revoke' : 'restore'}`);
          await res.body.dump();
          ok = res.statusCode === 200;
        } catch {
          ok = false;
        }
        if (ok) {
          token.state = revoking ? 'revoked' : 'active';
          token.revokedAt = performance.now();
          token.uncertain = false;
          changes++;
        } else {
          // The store was down: whether the change took is not known until one succeeds.
          token.state = revoking ? 'revoked' : 'active';
          token.revokedAt = performance.now();
          token.uncertain = true;
          failedChanges++;
        }
      }
      await sleep(CHANGE_MS);
    }
  }

  // Faults on a schedule.
  const faultLog = [];
  const note = (what) => {
    faultLog.push(`${elapsed(started).toFixed(1)} s: ${what}`);
    console.error(`[soak ${elapsed(started).toFixed(1)} s] ${what}`);
  };
  const bothReady = () =>
    waitFor(
      async () => (await Promise.all(liveReplicas().map((r) => fetch(`${r.admin}/readyz`).then((res) => res.ok)))).every(Boolean),
      'replicas ready',
      60_000,
    );
  const schedule = {
    redis: {
      at: 0.1,
      run: async () => {
        const close = ledger.openWindow('store');
        const port = await redis.restartMaster(1500);
        await bothReady();
        close();
        note(`Redis master ${port} killed, restarted after 1.5 s from its append-only file; replicas ready again: ${redis.describe()}`);
      },
    },
    replica: {
      at: 0.2,
      run: async () => {
        const b = replicas[1];
        const close = ledger.openWindow('replica', 'B');
        b.stopping = true;
        const sentAt = performance.now();
        const exited = new Promise((resolve) => b.child.once('exit', (code) => resolve(code)));
        b.child.kill('SIGTERM');
        const code = await exited;
        const drainedIn = performance.now() - sentAt;
        await b.pool.destroy();
        await launch(1);
        close();
        note(`replica B sent SIGTERM: exited ${code} after ${drainedIn.toFixed(0)} ms; started again (pid ${replicas[1].pid})`);
      },
    },
    upstream: {
      at: 0.3,
      run: async () => {
        const close = ledger.openWindow('upstream');
        const exited = new Promise((resolve) => upstream.child.once('exit', resolve));
        upstream.child.kill('SIGKILL');
        await exited;
        await sleep(500);
        upstream = start('node', ['bench/upstream.mjs', String(upstreamPort)]);
        await waitFor(() => upstream.output().length > 0, 'upstream again');
        close();
        note('upstream killed, started again after 0.5 s');
      },
    },
    failover: {
      at: 0.4,
      run: async () => {
        const close = ledger.openWindow('store');
        const { from, to } = await redis.failover();
        await bothReady();
        close();
        note(`Redis master ${from} killed; Sentinel promoted ${to}; ${from} started again; replicas ready again: ${redis.describe()}`);
      },
    },
  };
  async function faults() {
    for (const name of FAULTS) {
      const fault = schedule[name];
      if (fault === undefined) throw new Error(`SOAK_FAULTS: no fault named ${name}`);
      const due = started + fault.at * SECONDS * 1000;
      while (running() && performance.now() < due) await sleep(100);
      if (!running()) return;
      await fault.run();
    }
  }

  await Promise.all([
    mutator(),
    faults(),
    ...Array.from({ length: WORKERS }, worker),
    ...Array.from({ length: STREAMS }, () => streamer('download')),
    ...Array.from({ length: STREAMS }, () => streamer('websocket')),
  ]);
  clearInterval(sampler);
  const seconds = elapsed(started);

  // The replicas' own lag metric (histogram buckets: the bound the p99 lies under).
  const lagBuckets = async (replica) => {
    const text = await (await fetch(`${replica.admin}/metrics`)).text();
    const buckets = [...text.matchAll(/^tollgate_invalidation_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    const total = buckets.at(-1)?.[1] ?? 0;
    return { total, p99le: buckets.find(([, n]) => n >= 0.99 * total)?.[0] };
  };

  // Report.
  const defects = ledger.defects();
  console.log(
    `\nsoak: ${seconds.toFixed(0)} s, ${requests} requests (${(requests / seconds).toFixed(0)}/s), ${streamsOpened} long-lived exchanges opened, ${TOKENS} tokens (${STEADY} never revoked), ${changes} revokes/restores (${failedChanges} failed in outages), 2 replicas, ${WORKERS} workers, NODE_OPTIONS="${NODE_OPTIONS}"`,
  );
  console.log(
    `node ${replicas[0].node}; redis-server ${execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)[1]} behind Sentinel; nproc ${execFileSync('nproc', { encoding: 'utf8' }).trim()}\n`,
  );
  console.log('faults:');
  for (const line of faultLog) console.log(`  ${line}`);
  console.log(`  at the end: ${redis.describe()}`);
  console.log('\noutcomes:');
  table([
    ['outcome', 'count', 'verdict'],
    ...[...ledger.counts].sort((x, y) => y[1] - x[1]).map(([kind, n]) => [kind, n, defects.some(([d]) => d === kind) ? 'DEFECT' : 'expected']),
  ]);
  for (const [kind, list] of ledger.examples) console.log(`  ${kind}, e.g.: ${JSON.stringify(list)}`);

  const lags = [...ledger.streamLags].sort((x, y) => x - y);
  console.log(
    `\nrevocation lag, revoke returned -> open exchange ended (${lags.length} samples outside outages): p50 ${percentile(lags, 0.5).toFixed(1)} ms, p99 ${percentile(lags, 0.99).toFixed(1)} ms, max ${(lags.at(-1) ?? NaN).toFixed(1)} ms`,
  );
  for (const replica of liveReplicas()) {
    const { total, p99le } = await lagBuckets(replica);
    console.log(
      `  replica ${replica.name}'s tollgate_invalidation_lag_seconds (since its start): ${total} messages, p99 <= ${p99le === undefined ? '?' : p99le * 1000} ms`,
    );
  }

  // Memory over time: one row per tenth of the run, and the second half's trend.
  console.log('\nRSS over time, MiB (anonymous + file-backed; V8 heap used / committed and external from /metrics; open descriptors):');
  const rows = [['t s', ...['A', 'B'].flatMap((n) => [`${n} RSS`, `${n} anon`, `${n} file`, `${n} heap used/total`, `${n} external`, `${n} fds`])]];
  const step = SECONDS / 10;
  for (let t = step; t <= seconds + 1; t += step) {
    const row = [t.toFixed(0)];
    for (const name of ['A', 'B']) {
      const near = memory[name].filter((s) => s.at <= t).at(-1);
      const heap = memory[name].filter((s) => s.at <= t && s.heapUsed !== undefined).at(-1);
      row.push(...(near ? [near.rss.toFixed(1), near.anon.toFixed(1), near.file.toFixed(1)] : ['-', '-', '-']));
      row.push(heap ? `${heap.heapUsed.toFixed(1)} / ${heap.heapTotal.toFixed(1)}` : '-', heap ? heap.external.toFixed(1) : '-', near ? near.fds : '-');
    }
    rows.push(row);
  }
  table(rows);
  const memoryFailures = [];
  for (const name of ['A', 'B']) {
    const samples = memory[name];
    const secondHalf = samples.filter((s) => s.at >= seconds / 2 && s.pid === samples.at(-1).pid);
    const growth = slope(secondHalf.map((s) => [s.at, s.rss])) * (seconds / 2);
    const peak = Math.max(...samples.map((s) => s.rss));
    console.log(
      `  replica ${name}: second half RSS trend ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB over ${(seconds / 2).toFixed(0)} s (anon ${(slope(secondHalf.map((s) => [s.at, s.anon])) * (seconds / 2)).toFixed(1)}, file ${(slope(secondHalf.map((s) => [s.at, s.file])) * (seconds / 2)).toFixed(1)}); peak ${peak.toFixed(1)} MiB`,
    );
    if (growth >= GROWTH_MIB) memoryFailures.push(`replica ${name} RSS grew ${growth.toFixed(1)} MiB in the second half (limit ${GROWTH_MIB})`);
    if (peak > LIMIT_MIB) memoryFailures.push(`replica ${name} RSS peaked at ${peak.toFixed(1)} MiB, past ${LIMIT_MIB}`);
  }
  const lagP99 = percentile(lags, 0.99);
  if (lags.length > 0 && lagP99 >= BOUND_MS) memoryFailures.push(`revocation lag p99 ${lagP99.toFixed(1)} ms is not under ${BOUND_MS} ms`);
  for (const f of memoryFailures) console.log(`  ${f}`);
  const failed = defects.length > 0 || memoryFailures.length > 0;
  console.log(
    failed
      ? `\nSOAK FAILED: ${defects
          .map(([k, n]) => `${n} × ${k}`)
          .concat(memoryFailures)
          .join('; ')}`
      : '\nsoak passed',
  );
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
