// node bench/decision-front.mjs: why the decision port runs on the proxy port's llhttp front.
// One run, four targets: the proxy port's 401 and 403 (the costs the decision port should match), the
// decision port answering a cached token (200 with identity headers), and a bare node:http
// server answering the same 200 with no check at all (the least a node:http decision port could
// cost). CPU µs per answer is the serving process's, from /proc. BENCH_DURATION (default 5s),
// BENCH_CONNECTIONS (default 32), BENCH_ROUNDS (default 3, targets alternated, median).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchTokens, initAdmin, serveTollgate, start, table, waitFor, wrk } from './lib.mjs';

const DURATION = process.env.BENCH_DURATION ?? '5s';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'tollgate-decision-front-'));
const PATH = '/v1/repositories/bench/query';
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const env = { TOLLGATE_STORE_FILE_PATH: join(dir, 'store.jsonl'), TOLLGATE_DECISION_LISTEN: '127.0.0.1:0' };
const admin = initAdmin(env);
const tollgate = await serveTollgate(env, 'tollgate');
const secret = await (await benchTokens(tollgate.admin, admin))();

const BARE = `const http = require('node:http');
const s = http.createServer((req, res) => {
  res.writeHead(200, { 'x-request-id': 'a0f3c1de-0000-4000-8000-000000000000', 'x-tollgate-token-id': '0123456789abcdef', 'x-tollgate-repository': 'bench', 'x-tollgate-right': 'query', 'content-length': '0' });
  res.end();
});
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const bare = start('node', ['-e', BARE]);
const barePort = Number(await waitFor(() => bare.output().trim(), 'bare node:http'));

const question = [`X-Forwarded-Method: GET`, `X-Forwarded-Uri: ${PATH}`, `Authorization: Bearer ${secret}`];
const targets = [
  { name: 'proxy port, no token (401)', url: `${tollgate.proxy}${PATH}`, headers: [], pid: tollgate.pid },
  // The proxy port's refusal of a cached token: hashes and checks it as the decision port does.
  {
    name: 'proxy port, cached token, no right (403)',
    url: `${tollgate.proxy}/v1/repositories/other/query`,
    headers: [`Authorization: Bearer ${secret}`],
    pid: tollgate.pid,
  },
  { name: 'decision port, cached token (200)', url: `${tollgate.decision}/auth`, headers: question, pid: tollgate.pid },
  { name: 'bare node:http, no check (200)', url: `http://127.0.0.1:${barePort}/auth`, headers: question, pid: bare.child.pid },
];
const runs = new Map(targets.map((t) => [t, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const target of targets)
    runs.get(target).push(wrk(target.url, { headers: target.headers, connections: CONNECTIONS, duration: DURATION, pid: target.pid }));
}
console.log(`# node bench/decision-front.mjs; wrk -t1 -c${CONNECTIONS} -d${DURATION}, ${ROUNDS} rounds; ${new Date().toISOString()}\n`);
const rows = [['target', 'req/s', 'p99 ms', 'CPU µs/answer', 'non-2xx']];
for (const target of targets) {
  const r = runs.get(target);
  rows.push([
    target.name,
    median(r.map((x) => x.rps)).toFixed(0),
    median(r.map((x) => x.p99)).toFixed(2),
    median(r.map((x) => x.cpuUsPerRequest)).toFixed(1),
    median(r.map((x) => x.non2xx)),
  ]);
}
table(rows);
process.exit(0);
