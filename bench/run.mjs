// npm run bench [-- scenario]: Tollgate against the upstream alone, nginx, node-http-proxy and the JS floor, in
// one run on this machine, one target at a time with the same load. Scenarios: cached, refused,
// flood, coalesce, streaming, latency, limits, decision, h2, grpc (all by default); footprint
// (bench/footprint.mjs: RSS and start time per role) and tracing (bench/tracing.mjs: CPU per cached
// GET with traces off and on), each run only when named. Prints Markdown tables for RESULTS.md.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Pool, request } from 'undici';
import { generateSecret } from '../dist/tokens/secret.js';
import {
  benchTokens,
  currentRssMiB,
  ensureCommand,
  freePort,
  initAdmin,
  killOnExit,
  peakRssMiB,
  serveTollgate,
  start,
  startRedisServer,
  table,
  waitFor,
  wrk,
} from './lib.mjs';
import { protocolRows } from './protocols.mjs';

const only = process.argv[2];
const DURATION = process.env.BENCH_DURATION ?? '10s';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
const wanted = (name) => !only || only === name;
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 500);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const LATENCY_ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS ?? 3);
/** Rounds of the cached-GET comparison; this VM's throughput moves by up to 25% minute to minute. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function startUpstream() {
  const proc = start('node', ['bench/upstream.mjs', '0']);
  const port = Number(await waitFor(() => proc.output().trim(), 'upstream'));
  return { name: 'direct upstream', url: `http://127.0.0.1:${port}`, pid: proc.child.pid };
}

/**
 * One nginx worker in its own folder: an upstream keep-alive pool of 128 to `upstreamUrl`,
 * streaming both ways (no request or response buffering), plus whatever `extra` adds to `http`
 * and `server`. Resolves to its port and the worker's pid (the process that does the work).
 */
async function runNginx(name, upstreamUrl, extra = { http: '', location: '', server: '' }) {
  const port = await freePort();
  const prefix = join(dir, name);
  execFileSync('mkdir', ['-p', prefix]);
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1; error_log stderr warn; pid ${prefix}/nginx.pid; daemon off;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream up { server ${new URL(upstreamUrl).host}; keepalive 128; }
  ${extra.http}
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    location / { ${extra.location} proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
    ${extra.server}
  }
}
`,
  );
  const proc = start('nginx', ['-c', conf, '-p', prefix]);
  await waitFor(() => execFileSync('pgrep', ['-P', String(proc.child.pid)], { encoding: 'utf8' }).trim(), 'the nginx worker');
  const worker = Number(
    execFileSync('pgrep', ['-P', String(proc.child.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  );
  killOnExit(worker);
  return { port, worker };
}

async function startNginx(upstreamUrl) {
  if (!ensureCommand('nginx', 'nginx-light')) return undefined;
  const { port, worker } = await runNginx('nginx', upstreamUrl);
  return { name: 'nginx (1 worker, keepalive 128)', url: `http://127.0.0.1:${port}`, pid: worker };
}

/**
 * nginx with `auth_request` to bench/auth-service.mjs: the usual way to add a token check to an
 * nginx that is already there. The subrequest goes over a keep-alive pool too.
 */
async function startNginxAuth(upstreamUrl, secret) {
  if (!ensureCommand('nginx', 'nginx-light')) return undefined;
  const auth = start('node', ['bench/auth-service.mjs', '0', secret]);
  const authPort = Number(await waitFor(() => auth.output().trim(), 'auth service'));
  const { port, worker } = await runNginx('nginx-auth', upstreamUrl, {
    http: `upstream auth { server 127.0.0.1:${authPort}; keepalive 128; }`,
    location: 'auth_request /_auth;',
    server: `location = /_auth {
      internal;
      proxy_pass http://auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }`,
  });
  return { name: 'nginx + auth_request (Node check)', url: `http://127.0.0.1:${port}`, pid: [worker, auth.child.pid], secret };
}

/**
 * nginx with `auth_request` to Tollgate's decision port, as docs/decision-api/nginx.md configures it for allowed
 * requests (the identity headers passed on, the token dropped): the same nginx setup as the
 * Node check above, with Tollgate's tokens, rights, routes and cache behind the question.
 */
async function startNginxDecision(upstreamUrl, tollgate) {
  if (!ensureCommand('nginx', 'nginx-light') || !tollgate.decision) return undefined;
  const ask = `proxy_pass http://tollgate_decision; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method; proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-Method ""; proxy_set_header X-Forwarded-Uri "";`;
  const { port, worker } = await runNginx('nginx-decision', upstreamUrl, {
    http: `upstream tollgate_decision { server ${new URL(tollgate.decision).host}; keepalive 128; }`,
    location: `auth_request /_tollgate;
      auth_request_set $tg_id $upstream_http_x_tollgate_token_id; auth_request_set $tg_repo $upstream_http_x_tollgate_repository;
      auth_request_set $tg_user $upstream_http_x_tollgate_user; auth_request_set $tg_right $upstream_http_x_tollgate_right;
      proxy_set_header X-Tollgate-Token-Id $tg_id; proxy_set_header X-Tollgate-Repository $tg_repo;
      proxy_set_header X-Tollgate-User $tg_user; proxy_set_header X-Tollgate-Right $tg_right; proxy_set_header Authorization "";
      error_page 401 403 500 = @tollgate_refusal;`,
    server: `location = /_tollgate { internal; ${ask} }
    location @tollgate_refusal { ${ask} }`,
  });
  return { name: "nginx + auth_request (Tollgate's decision port)", url: `http://127.0.0.1:${port}`, pid: [worker, tollgate.pid], secret: tollgate.secret };
}

async function startHttpProxy(upstreamUrl) {
  const proc = start('node', ['bench/http-proxy-server.mjs', upstreamUrl, '0']);
  const port = Number(await waitFor(() => proc.output().trim(), 'http-proxy'));
  return { name: 'node-http-proxy (keep-alive agent)', url: `http://127.0.0.1:${port}`, pid: proc.child.pid };
}

/**
 * The JS floor (bench/floor-net-proxy.mjs): node:net and llhttp, the token's SHA-256 looked up in
 * a Set, kept-alive upstream sockets, nothing else. Tollgate's goals are ratios to this row.
 */
async function startFloor(upstreamUrl, secret) {
  const proc = start('node', ['bench/floor-net-proxy.mjs', upstreamUrl, '0', secret]);
  const port = Number(await waitFor(() => proc.output().trim(), 'JS floor proxy'));
  return { name: 'JS floor (net + llhttp + token check)', url: `http://127.0.0.1:${port}`, pid: proc.child.pid, secret };
}

async function startTollgate(name, upstreamUrl, storeEnv) {
  const env = { TOLLGATE_PROXY_UPSTREAM: upstreamUrl, ...storeEnv };
  const admin = initAdmin(env);
  const served = await serveTollgate(env, name);
  const makeToken = await benchTokens(served.admin, admin);
  return {
    name,
    url: served.proxy,
    admin: served.admin,
    adminSecret: admin,
    decision: served.decision,
    pid: served.pid,
    node: served.node,
    secret: await makeToken(),
    makeToken,
  };
}

const PATH = '/v1/repositories/bench/query';
const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main() {
  // The footprint scenario measures processes, not throughput: no wrk, nginx or second store.
  if (only === 'footprint') return void (await import('./footprint.mjs'));
  // Tracing off, on at 1% and at 100% (bench/tracing.mjs): three Tollgates of its own, no baselines.
  if (only === 'tracing') return void (await import('./tracing.mjs'));
  if (!ensureCommand('wrk', 'wrk')) throw new Error('wrk is needed: apt-get install wrk');
  const upstream = await startUpstream();
  const nginx = await startNginx(upstream.url);
  const httpProxy = await startHttpProxy(upstream.url);
  const file = await startTollgate('tollgate (file store)', upstream.url, {
    TOLLGATE_STORE_FILE_PATH: join(dir, 'store.jsonl'),
    TOLLGATE_DECISION_LISTEN: '127.0.0.1:0',
  });
  const redisServer = await startRedisServer();
  const redisPort = redisServer.port;
  const redis = await startTollgate('tollgate (Redis store)', upstream.url, { TOLLGATE_STORE_BACKEND: 'redis', TOLLGATE_STORE_REDIS_URL: redisServer.url });
  const tollgates = [file, redis];
  const floor = await startFloor(upstream.url, file.secret);
  const nginxAuth = await startNginxAuth(upstream.url, file.secret);
  const nginxDecision = await startNginxDecision(upstream.url, file);
  const auth = (t) => [`Authorization: Bearer ${t.secret}`];
  const load = { connections: CONNECTIONS, duration: DURATION };
  console.log(
    `# npm run bench${only ? ` -- ${only}` : ''}; wrk -t1 -c${CONNECTIONS} -d${DURATION}; Tollgate on node ${[...new Set(tollgates.map((t) => t.node))].join(', ')}, bench and node baselines on ${process.version}; nproc ${execFileSync('nproc').toString().trim()}; ${new Date().toISOString()}\n`,
  );
  if (!nginx) console.log('nginx could not be installed: its column is left out.\n');

  const cachedRps = {};
  if (wanted('cached') || wanted('refused')) {
    console.log(
      `## 1. GET with a cached token, small response (${ROUNDS} rounds, targets alternated, in reverse order every other round; median of the rounds)\n`,
    );
    const rows = [['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'vs nginx', 'vs nginx+auth', 'vs http-proxy', 'vs JS floor', 'CPU vs JS floor']];
    const targets = [upstream, nginx, nginxAuth, nginxDecision, httpProxy, floor, ...tollgates].filter(Boolean);
    const runs = new Map(targets.map((t) => [t, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // In reverse order every other round: no target always runs right after the same neighbour
      // (the Redis store's row came after the file store's, its redis-server on the same cores).
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        runs.get(target).push(wrk(`${target.url}${PATH}`, { ...load, headers: target.secret ? auth(target) : [auth(file)[0]], pid: target.pid }));
      }
    }
    const results = targets.map((target) => {
      const r = runs.get(target);
      return [
        target,
        {
          rps: median(r.map((x) => x.rps)),
          p50: median(r.map((x) => x.p50)),
          p99: median(r.map((x) => x.p99)),
          cpuUsPerRequest: median(r.map((x) => x.cpuUsPerRequest)),
        },
      ];
    });
    for (const [target, r] of results) cachedRps[target.name] = r.rps;
    const base = (name) => results.find(([t]) => t.name.startsWith(name))?.[1].rps;
    const floorCpu = results.find(([t]) => t === floor)?.[1].cpuUsPerRequest;
    for (const [target, r] of results) {
      rows.push([
        target.name,
        fmt(r.rps),
        fmt(r.p50, 2),
        fmt(r.p99, 2),
        fmt(r.cpuUsPerRequest),
        fmt(r.rps / base('nginx ('), 2),
        fmt(r.rps / base('nginx + auth'), 2),
        fmt(r.rps / base('node-http-proxy'), 2),
        fmt(r.rps / base('JS floor'), 2),
        fmt(r.cpuUsPerRequest / floorCpu, 2),
      ]);
    }
    table(rows);
    console.log();
  }

  if (wanted('decision') && nginxAuth && nginxDecision) {
    console.log(`## 7. nginx + auth_request: Tollgate's decision port against a minimal Node check (${ROUNDS} rounds, alternated; median)\n`);
    const rows = [['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req (nginx + checker)', 'non-2xx', 'vs Node check']];
    const pair = [nginxAuth, nginxDecision];
    const runs = new Map(pair.map((t) => [t, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of pair) runs.get(target).push(wrk(`${target.url}${PATH}`, { ...load, headers: auth(target), pid: target.pid }));
    }
    const stats = pair.map((target) => {
      const r = runs.get(target);
      return {
        target,
        rps: median(r.map((x) => x.rps)),
        p50: median(r.map((x) => x.p50)),
        p99: median(r.map((x) => x.p99)),
        cpu: median(r.map((x) => x.cpuUsPerRequest)),
        non2xx: Math.max(...r.map((x) => x.non2xx)),
      };
    });
    for (const s of stats) rows.push([s.target.name, fmt(s.rps), fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.cpu), s.non2xx, fmt(s.rps / stats[0].rps, 2)]);
    table(rows);
    console.log();
  }

  if (wanted('refused')) {
    console.log('## 2. No token (the 401 path)\n');
    const rows = [['target', 'req/s', 'p99 ms', 'CPU µs/req', 'vs its cached GET']];
    for (const t of tollgates) {
      const r = wrk(`${t.url}${PATH}`, { ...load, pid: t.pid });
      rows.push([t.name, fmt(r.rps), fmt(r.p99, 2), fmt(r.cpuUsPerRequest), fmt(r.rps / cachedRps[t.name], 2)]);
    }
    table(rows);
    console.log();
  }

  if (wanted('flood')) {
    console.log('## 3. A flood of random well-formed tokens, with a good token served alongside\n');
    const script = join(dir, 'flood.lua');
    const secrets = Array.from({ length: 20_000 }, () => generateSecret('repository'));
    writeFileSync(
      script,
      `local tokens = {${secrets.map((s) => `"${s}"`).join(',')}}\nmath.randomseed(os.time())\nrequest = function()\n  return wrk.format("GET", "${PATH}", { ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] })\nend\n`,
    );
    const rows = [['target', 'flood req/s (all 401)', 'good-token req/s', 'good-token p99 ms', 'good-token non-2xx']];
    for (const t of tollgates) {
      const flood = spawn('wrk', ['-t1', `-c${CONNECTIONS / 2}`, `-d${DURATION}`, '-s', script, `${t.url}${PATH}`], { stdio: ['ignore', 'pipe', 'ignore'] });
      let floodOut = '';
      flood.stdout.on('data', (d) => (floodOut += d));
      const floodDone = new Promise((resolve) => flood.on('exit', resolve));
      const good = wrk(`${t.url}${PATH}`, { ...load, connections: CONNECTIONS / 2, headers: auth(t) });
      await floodDone;
      const floodRps = Number(/Requests\/sec:\s+([\d.]+)/.exec(floodOut)?.[1]);
      rows.push([t.name, fmt(floodRps), fmt(good.rps), fmt(good.p99, 2), good.non2xx]);
    }
    table(rows);
    console.log();
  }

  if (wanted('coalesce')) {
    console.log('## 4. 1,000 concurrent first requests with one uncached token\n');
    const rows = [['target', 'responses', 'store lookups', 'how counted']];
    for (const t of tollgates) {
      const secret = await t.makeToken();
      const before = await storeLookups(t, redisPort);
      const pool = new Pool(t.url, { connections: 1000 });
      const statuses = await Promise.all(
        Array.from({ length: 1000 }, () =>
          pool.request({ path: PATH, method: 'GET', headers: { authorization: `Bearer ${secret}` } }).then(async (r) => {
            await r.body.dump();
            return r.statusCode;
          }),
        ),
      );
      await pool.close();
      const lookups = (await storeLookups(t, redisPort)) - before;
      const counts = new Map();
      for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
      const answered = [...counts]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${n} × ${s}`)
        .join(', ');
      rows.push([t.name, answered, lookups, t === redis ? 'Redis HGETALL calls (INFO commandstats)' : 'auth_duration_seconds{source="store"} count']);
    }
    table(rows);
    console.log();
  }

  if (wanted('streaming')) {
    console.log(`## 5. Streaming 1 GiB up and 1 GiB down through each proxy (${ROUNDS} rounds; median rates, peak RSS over all)\n`);
    // Tollgates of their own, so their peak RSS is the streams' and not the other scenarios'.
    const streamers = [
      await startTollgate('tollgate (file store, fresh process)', upstream.url, { TOLLGATE_STORE_FILE_PATH: join(dir, 'stream-store.jsonl') }),
      await startTollgate('tollgate (Redis store, fresh process)', upstream.url, {
        TOLLGATE_STORE_BACKEND: 'redis',
        TOLLGATE_STORE_REDIS_URL: redisServer.url,
      }),
    ];
    const idleRss = streamers.map((t) => `${fmt(currentRssMiB(t.pid), 1)} MiB (${t.name.split(' (')[1].split(',')[0]})`).join(', ');
    const GiB = 1 << 30;
    const chunk = Buffer.alloc(1 << 20, 0x62);
    const targets = [nginx, httpProxy, ...streamers].filter(Boolean);
    const rates = new Map(targets.map((t) => [t, { up: [], down: [] }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) {
        const headers = { authorization: `Bearer ${target.secret ?? streamers[0].secret}` };
        let t0 = performance.now();
        const up = await request(`${target.url}/v1/repositories/bench/stream`, {
          method: 'POST',
          headers,
          body: Readable.from(
            (function* () {
              for (let i = 0; i < 1024; i++) yield chunk;
            })(),
          ),
        });
        await up.body.dump();
        rates.get(target).up.push(1024 / ((performance.now() - t0) / 1000));
        t0 = performance.now();
        const down = await request(`${target.url}/v1/repositories/bench/bulk?bytes=${GiB}`, { headers });
        let got = 0;
        for await (const part of down.body) got += part.length;
        if (got !== GiB) throw new Error(`${target.name}: downloaded ${got} bytes`);
        rates.get(target).down.push(1024 / ((performance.now() - t0) / 1000));
      }
    }
    const rows = [['target', 'upload MiB/s', 'download MiB/s', 'peak RSS MiB', 'vs nginx (up/down)']];
    const ng = nginx && rates.get(nginx);
    for (const target of targets) {
      const up = median(rates.get(target).up);
      const down = median(rates.get(target).down);
      const vs = ng ? `${fmt(up / median(ng.up), 2)} / ${fmt(down / median(ng.down), 2)}` : '-';
      rows.push([target.name, fmt(up), fmt(down), fmt(peakRssMiB(target.pid), 1), vs]);
    }
    table(rows);
    console.log(`\nThe fresh Tollgates' RSS before the first stream: ${idleRss}.\n`);
  }

  if (wanted('latency')) {
    console.log(
      `## 6. Added latency at a fixed ${LATENCY_RATE} requests/s (open loop, ${LATENCY_ROUNDS} rounds of ${LATENCY_SECONDS} s, targets alternated; median of the rounds)\n`,
    );
    const targets = [upstream, nginx, httpProxy, file, redis].filter(Boolean);
    const samples = new Map(targets.map((t) => [t, []]));
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      for (const t of targets) {
        samples.get(t).push(await fixedRate(t.url, t.secret ?? file.secret, LATENCY_RATE, LATENCY_SECONDS));
      }
    }
    const stats = new Map([...samples].map(([t, runs]) => [t, { p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)) }]));
    const direct = stats.get(upstream);
    const rows = [['target', 'p50 ms', 'p99 ms', 'p50 over direct', 'p99 over direct']];
    for (const [t, s] of stats) {
      rows.push([t.name, fmt(s.p50, 3), fmt(s.p99, 3), t === upstream ? '-' : fmt(s.p50 - direct.p50, 3), t === upstream ? '-' : fmt(s.p99 - direct.p99, 3)]);
    }
    table(rows);
    console.log();
  }

  if (wanted('limits')) {
    // The cost of a token's limits on the hot path: the same Tollgate, a token whose rate limit
    // never triggers (leases spent locally, one lease per window) against one without limits.
    console.log(`## 7. GET with a cached token: a rate limit that never triggers vs none (${ROUNDS} rounds, alternated; median of the rounds)\n`);
    const rows = [['target', 'token', 'req/s', 'p99 ms', 'CPU µs/req', 'vs no limits']];
    for (const t of tollgates) {
      const headers = { authorization: `Bearer ${t.adminSecret}`, 'content-type': 'application/json' };
      const body = JSON.stringify({
        kind: 'repository',
        name: 'bench limited',
        repository: 'bench',
        rights: ['query'],
        limits: { rate: { requests: 1_000_000_000, per: '1s' } },
      });
      // A fresh connection (reset): a keep-alive socket idle since setup may be closing under us.
      const limited = (await (await request(`${t.admin}/v1/tokens`, { method: 'POST', headers, body, reset: true })).body.json()).secret;
      const runs = { none: [], limited: [] };
      for (let round = 0; round < ROUNDS; round++) {
        runs.none.push(wrk(`${t.url}${PATH}`, { ...load, headers: [`Authorization: Bearer ${t.secret}`], pid: t.pid }));
        runs.limited.push(wrk(`${t.url}${PATH}`, { ...load, headers: [`Authorization: Bearer ${limited}`], pid: t.pid }));
      }
      const of = (r) => ({ rps: median(r.map((x) => x.rps)), p99: median(r.map((x) => x.p99)), cpu: median(r.map((x) => x.cpuUsPerRequest)) });
      const none = of(runs.none);
      const withLimits = of(runs.limited);
      rows.push([t.name, 'no limits', fmt(none.rps), fmt(none.p99, 2), fmt(none.cpu), '1.00']);
      rows.push([t.name, 'rate 1e9/1s', fmt(withLimits.rps), fmt(withLimits.p99, 2), fmt(withLimits.cpu), fmt(withLimits.rps / none.rps, 2)]);
    }
    table(rows);
    console.log();
  }
  if (wanted('h2') || wanted('grpc')) await protocolRows({ wanted, upstream, tollgate: file, path: PATH, duration: DURATION, connections: CONNECTIONS, dir });
  process.exit(0);
}

/** Store lookups so far: Redis HGETALL calls, or the store-sourced auth count from /metrics. */
async function storeLookups(t, redisPort) {
  if (t.name.includes('Redis')) {
    const stats = execFileSync('redis-cli', ['-p', String(redisPort), 'INFO', 'commandstats'], { encoding: 'utf8' });
    return Number(/cmdstat_hgetall:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  }
  const text = await fetch(`${t.admin}/metrics`).then((r) => r.text());
  return Number(/^tollgate_auth_duration_seconds_count\{source="store"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

/**
 * Sends requests on a fixed schedule (not waiting for answers) and measures from the scheduled
 * time. A first second at the same rate is thrown away: it opens the pool's connections and warms
 * the JIT, and its 30-60 ms first requests would otherwise be the p99.
 */
async function fixedRate(origin, secret, rate, seconds) {
  const pool = new Pool(origin, { connections: 64 });
  await schedule(pool, secret, rate, 1);
  const latencies = await schedule(pool, secret, rate, seconds);
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { p50: latencies[Math.floor(latencies.length * 0.5)], p99: latencies[Math.floor(latencies.length * 0.99)] };
}

async function schedule(pool, secret, rate, seconds) {
  const latencies = [];
  const total = rate * seconds;
  const startAt = performance.now() + 10;
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = startAt + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Late sends count from when they were due (no coordinated omission); a timer that fired
    // early (they round to whole ms) counts from the real send, or the figure would shrink.
    const from = Math.min(due, performance.now());
    pending.push(
      pool.request({ path: PATH, method: 'GET', headers: { authorization: `Bearer ${secret}` } }).then(async (res) => {
        await res.body.dump();
        latencies.push(performance.now() - from);
      }),
    );
  }
  await Promise.all(pending);
  return latencies;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
