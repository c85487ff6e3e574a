// npm run bench:soak [-- seconds]: a bounded mixed-load run (60 s by default) against two Tollgate
// replicas on one Redis. Workers send GETs and 64 KiB uploads with a few hundred tokens to both
// replicas while tokens are revoked and restored at random through replica A. It fails (exit 1)
// if a revoked token is served past the bound, if any 5xx appears (no fault is injected), or if
// a replica's RSS grows 10% or more between the first and the last 10 seconds.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { startReplicas } from './lib.mjs';

const SECONDS = Number(process.argv[2] ?? process.env.SOAK_SECONDS ?? 60);
const TOKENS = Number(process.env.SOAK_TOKENS ?? 300);
const WORKERS = Number(process.env.SOAK_WORKERS ?? 24);
const BOUND_MS = Number(process.env.SOAK_BOUND_MS ?? 100);

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function main() {
  const setup = await startReplicas(2);
  const admin = setup.admin;
  const replicas = setup.replicas.map((replica) => ({ ...replica, pool: new Pool(replica.proxy, { connections: WORKERS }) }));
  const [a] = replicas;
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const post = (path, body) => fetch(`${a.admin}${path}`, { method: 'POST', headers, body: body && JSON.stringify(body) }).then((r) => r.json());
  await post('/v1/repositories', { name: 'soak' });
  const tokens = [];
  for (let i = 0; i < TOKENS; i++) {
    const made = await post('/v1/tokens', { kind: 'repository', name: `soak ${i}`, repository: 'soak', rights: ['query', 'stream'] });
    tokens.push({ id: made.token.id, secret: made.secret, revokedAt: null, history: [] });
  }

  const upload = Buffer.alloc(64 * 1024, 7);
  const started = performance.now();
  const end = started + SECONDS * 1000;
  const counts = { ok: 0, refused: 0, fiveHundreds: 0, other: 0, uploads: 0 };
  const violations = [];
  const rss = replicas.map(() => []);
  const sampler = setInterval(() => {
    for (const [i, r] of replicas.entries()) rss[i].push({ at: performance.now() - started, mib: rssMiB(r.pid) });
  }, 1000);

  async function worker() {
    while (performance.now() < end) {
      const token = tokens[Math.floor(Math.random() * tokens.length)];
      const replica = replicas[Math.floor(Math.random() * replicas.length)];
      const isUpload = Math.random() < 0.2;
      const sentAt = performance.now();
      const res = await replica.pool.request({
        path: isUpload ? '/v1/repositories/soak/stream' : '/v1/repositories/soak/query',
        method: isUpload ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${token.secret}` },
        body: isUpload ? upload : undefined,
      });
      await res.body.dump();
      if (isUpload) counts.uploads++;
      if (res.statusCode === 200) {
        counts.ok++;
        // Served although the token was revoked (and not restored) more than BOUND_MS before this request left.
        if (token.revokedAt !== null && sentAt - token.revokedAt > BOUND_MS) violations.push({ id: token.id, lateBy: sentAt - token.revokedAt });
      } else if (res.statusCode === 401) counts.refused++;
      else if (res.statusCode >= 500) counts.fiveHundreds++;
      else counts.other++;
    }
  }

  async function mutator() {
    let changes = 0;
    while (performance.now() < end) {
      const token = tokens[Math.floor(Math.random() * tokens.length)];
      if (token.revokedAt === null) {
        await post(`/v1/tokens/${token.id}/revoke`);
        token.revokedAt = performance.now();
      } else {
        token.revokedAt = null; // from now on a 200 is fine again
        await post(`/v1/tokens/${token.id}/restore`);
      }
      changes++;
      await new Promise((r) => setTimeout(r, 50));
    }
    return changes;
  }

  const [changes] = await Promise.all([mutator(), ...Array.from({ length: WORKERS }, worker)]);
  clearInterval(sampler);
  const elapsed = (performance.now() - started) / 1000;
  const growth = rss.map((samples) => {
    const first = samples.filter((s) => s.at <= 10_000).map((s) => s.mib);
    const last = samples.filter((s) => s.at >= (SECONDS - 10) * 1000).map((s) => s.mib);
    const mean = (xs) => xs.reduce((x, y) => x + y, 0) / xs.length;
    return { first: mean(first), last: mean(last), growth: mean(last) / mean(first) - 1 };
  });
  const total = counts.ok + counts.refused + counts.fiveHundreds + counts.other;
  console.log(`soak: ${elapsed.toFixed(0)} s, ${total} requests (${(total / elapsed).toFixed(0)}/s, ${counts.uploads} uploads of 64 KiB), ${TOKENS} tokens, ${changes} revokes/restores, 2 replicas, ${WORKERS} workers`);
  console.log(`  200: ${counts.ok}, 401: ${counts.refused}, 5xx: ${counts.fiveHundreds}, other: ${counts.other}`);
  console.log(`  revoked tokens served more than ${BOUND_MS} ms after the revoke returned: ${violations.length}${violations.length ? ` (worst ${Math.max(...violations.map((v) => v.lateBy)).toFixed(1)} ms)` : ''}`);
  for (const [i, g] of growth.entries()) console.log(`  replica ${'AB'[i]} RSS: first 10 s ${g.first.toFixed(1)} MiB, last 10 s ${g.last.toFixed(1)} MiB (${(g.growth * 100).toFixed(1)}%)`);
  const failed = violations.length > 0 || counts.fiveHundreds > 0 || counts.other > 0 || growth.some((g) => g.growth >= 0.1);
  console.log(failed ? 'SOAK FAILED' : 'soak passed');
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
