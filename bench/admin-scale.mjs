// npm run bench:admin: the admin API with 100,000 tokens and 1,000 teams in Redis. Loads the
// tokens, 2,000 users and the teams (5 members each) straight into a private redis-server through
// the Redis store, starts `tollgate serve` on it, and times search + two-column sort (first
// page), create, revoke, a user view (own grants ∪ teams') and a team grant change over HTTP.
// Prints medians and p95.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { RedisStore } from '../dist/store/redis-store.js';
import { generateSecret, hashSecret, idFromHash, secretPrefix } from '../dist/tokens/secret.js';
import { initAdmin, serveTollgate, startRedisServer, waitFor } from './lib.mjs';

const COUNT = Number(process.env.BENCH_TOKENS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const TEAMS = Number(process.env.BENCH_TEAMS ?? 1000);
const USERS = TEAMS * 2;

const stats = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p95: at(0.95) };
};

async function main() {
  const { url } = await startRedisServer();
  const store = new RedisStore({ url, keyPrefix: 'tollgate:', commandTimeoutMs: 5000 });
  await waitFor(() => store.waitUntilReady(500), 'redis');

  const started = performance.now();
  const now = Date.now();
  await store.createRepository({ name: 'sensors', createdAt: now, createdBy: 'bench' });
  await store.createRepository({ name: 'billing', createdAt: now, createdBy: 'bench' });
  const words = ['ingest', 'reader', 'export', 'phone', 'laptop', 'backup', 'dashboard', 'etl'];
  for (let i = 0; i < COUNT; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(COUNT, i + 500); j++) {
      const secret = generateSecret('repository');
      const hash = hashSecret(secret);
      const record = {
        id: idFromHash(hash),
        hash,
        kind: 'repository',
        name: `${words[j % words.length]} ${j}`,
        repository: j % 3 === 0 ? 'billing' : 'sensors',
        user: null,
        rights: ['query'],
        status: j % 10 === 0 ? 'revoked' : 'active',
        prefix: secretPrefix(secret),
        createdAt: now - j * 1000,
        createdBy: 'bench',
        updatedAt: now,
        expiresAt: j % 4 === 0 ? now + j * 1000 : null,
        revokedAt: null,
        lastUsedAt: null,
        lastUsedIp: null,
        lastUsedUserAgent: null,
        version: 1,
        parentId: null,
      };
      batch.push(store.createToken(record, { at: now, actor: 'bench', action: 'created', changes: {} }));
    }
    await Promise.all(batch);
  }
  for (let u = 0; u < USERS; u++) await store.putUser({ name: `user${u}`, grants: { sensors: ['query'] }, createdAt: now, updatedAt: now });
  for (let i = 0; i < TEAMS; i += 100) {
    const batch = [];
    for (let k = i; k < Math.min(TEAMS, i + 100); k++) {
      const members = [0, 1, 2, 3, 4].map((m) => `user${(k * 2 + m * 7) % USERS}`);
      const team = { name: `team${k}`, members, grants: { billing: ['query'] }, createdAt: now, updatedAt: now };
      batch.push(store.putTeam(team, { at: now, actor: 'bench', action: 'created', changes: {} }));
    }
    await Promise.all(batch);
  }
  const loadSeconds = (performance.now() - started) / 1000;
  await store.close();

  const env = { TOLLGATE_STORE_BACKEND: 'redis', TOLLGATE_STORE_REDIS_URL: url };
  const admin = initAdmin(env);
  const serve = await serveTollgate(env);
  const base = serve.admin;
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const timed = async (method, path, body) => {
    const t0 = performance.now();
    const res = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
    const json = res.status === 204 ? null : await res.json();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return { ms: performance.now() - t0, json };
  };

  const rssOf = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${serve.pid}/status`, 'utf8'))[1]) / 1024;
  await fetch(`${base}/metrics`); // a scrape must not load the index
  const rssIdle = rssOf();
  const searchPath = '/v1/tokens?q=reader&sort=repository,-createdAt&limit=50';
  const first = await timed('GET', searchPath);
  const search = [];
  for (let i = 0; i < RUNS; i++) search.push((await timed('GET', `/v1/tokens?q=${words[i % words.length]}&sort=repository,-createdAt&limit=50`)).ms);
  const unfiltered = [];
  for (let i = 0; i < RUNS; i++) unfiltered.push((await timed('GET', '/v1/tokens?sort=status,name&limit=50')).ms);
  const create = [];
  const revoke = [];
  for (let i = 0; i < RUNS; i++) {
    const made = await timed('POST', '/v1/tokens', { kind: 'repository', name: `bench ${i}`, repository: 'sensors', rights: ['query'] });
    create.push(made.ms);
    revoke.push((await timed('POST', `/v1/tokens/${made.json.token.id}/revoke`)).ms);
  }
  const userView = [];
  const teamEdit = [];
  for (let i = 0; i < RUNS; i++) {
    const seen = await timed('GET', `/v1/users/user${(i * 97) % USERS}`);
    if (seen.json.teams.length === 0) throw new Error('a bench user is in no team');
    userView.push(seen.ms);
    teamEdit.push((await timed('PATCH', `/v1/teams/team${(i * 37) % TEAMS}`, { grants: { billing: i % 2 ? ['query'] : ['query', 'stream'] } })).ms);
  }
  const teamList = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) teamList.push((await timed('GET', '/v1/teams')).ms);
  const rss = rssOf();

  const rows = [
    ['call', 'median ms', 'p95 ms'],
    [`first search after start (loads the index of ${first.json.total} matches' ${COUNT} tokens)`, first.ms.toFixed(1), '-'],
    ['search q + sort repository,-createdAt, first page', stats(search).median.toFixed(1), stats(search).p95.toFixed(1)],
    ['no q, sort status,name, first page (all tokens match)', stats(unfiltered).median.toFixed(1), stats(unfiltered).p95.toFixed(1)],
    ['create a token', stats(create).median.toFixed(1), stats(create).p95.toFixed(1)],
    ['revoke a token', stats(revoke).median.toFixed(1), stats(revoke).p95.toFixed(1)],
    ["a user view (own grants ∪ teams'), one of 2000 users", stats(userView).median.toFixed(1), stats(userView).p95.toFixed(1)],
    [`a team's grants changed (evicts its members everywhere), one of ${TEAMS} teams`, stats(teamEdit).median.toFixed(1), stats(teamEdit).p95.toFixed(1)],
    [`list all ${TEAMS} teams`, stats(teamList).median.toFixed(1), stats(teamList).p95.toFixed(1)],
  ];
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(
    `\n${COUNT} tokens, ${USERS} users and ${TEAMS} teams loaded in ${loadSeconds.toFixed(1)} s; ${RUNS} runs each; serve RSS after a scrape ${rssIdle.toFixed(0)} MiB, after the searches ${rss.toFixed(0)} MiB; node ${process.version}`,
  );
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
