// npm run bench:jwt: what a cached JWT costs against a cached Tollgate token on the same Tollgate
// (docs/workload-identity.md; goal: at most +10% CPU per request). One Tollgate (file store) with
// an issuer served here over HTTP; a user granted query on `bench`; wrk alternates a personal
// token of that user and a JWT mapped to it, ROUNDS rounds each. Prints a Markdown table.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ensureCommand, initAdmin, serveTollgate, start, table, waitFor, wrk } from './lib.mjs';

const DURATION = process.env.BENCH_DURATION ?? '10s';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PATH = '/v1/repositories/bench/query';
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

if (!ensureCommand('wrk', 'wrk')) throw new Error('wrk is needed: apt-get install wrk');
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-jwt-'));

// The issuer: discovery and a JWK Set on loopback, an ES256 key (what most clusters and IdPs sign with is RS256 or ES256).
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256', use: 'sig' };
const issuerServer = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(req.url === '/keys' ? { keys: [jwk] } : { issuer, jwks_uri: `${issuer}/keys` }));
});
await new Promise((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${issuerServer.address().port}`;

const upstreamProc = start('node', ['bench/upstream.mjs', '0']);
const upstreamPort = Number(await waitFor(() => upstreamProc.output().trim(), 'upstream'));
const env = {
  TOLLGATE_PROXY_UPSTREAM: `http://127.0.0.1:${upstreamPort}`,
  TOLLGATE_STORE_FILE_PATH: join(dir, 'store.jsonl'),
  TOLLGATE_IDENTITY_JWT: JSON.stringify([{ issuer, audiences: ['tollgate'], user: 'sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}' }]),
};
const adminSecret = initAdmin(env);
const served = await serveTollgate(env, 'tollgate (file store, identity.jwt)');
const headers = { authorization: `Bearer ${adminSecret}`, 'content-type': 'application/json' };
const post = async (path, body) => {
  const res = await fetch(`${served.admin}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};
await post('/v1/repositories', { name: 'bench' });
await post('/v1/users', { name: 'sa-bench-producer', grants: { bench: ['query'] } });
const personal = (await post('/v1/tokens', { kind: 'personal', name: 'bench', user: 'sa-bench-producer', rights: ['query'] })).secret;
const now = Math.floor(Date.now() / 1000);
const jwt = await new SignJWT({
  iss: issuer,
  aud: ['tollgate'],
  sub: 'system:serviceaccount:bench:producer',
  iat: now,
  nbf: now,
  exp: now + 3600,
  'kubernetes.io': { namespace: 'bench', serviceaccount: { name: 'producer', uid: 'u1' }, pod: { name: 'producer-1', uid: 'u2' } },
})
  .setProtectedHeader({ alg: 'ES256', kid: 'bench-1', typ: 'JWT' })
  .sign(privateKey);
for (const secret of [personal, jwt]) {
  const res = await fetch(`${served.proxy}${PATH}`, { headers: { authorization: `Bearer ${secret}` } });
  if (res.status !== 200) throw new Error(`warm-up: ${res.status} ${await res.text()}`);
}

console.log(
  `# npm run bench:jwt; wrk -t1 -c${CONNECTIONS} -d${DURATION}; ${ROUNDS} rounds alternated; Tollgate on ${served.node}; nproc ${execFileSync('nproc').toString().trim()}; ${new Date().toISOString()}\n`,
);
const runs = { token: [], jwt: [] };
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so drift on this shared VM falls on both alike.
  const order = round % 2 === 0 ? ['token', 'jwt'] : ['jwt', 'token'];
  for (const which of order)
    runs[which].push(
      wrk(`${served.proxy}${PATH}`, {
        connections: CONNECTIONS,
        duration: DURATION,
        headers: [`Authorization: Bearer ${which === 'jwt' ? jwt : personal}`],
        pid: served.pid,
      }),
    );
}
const of = (r) => ({
  rps: median(r.map((x) => x.rps)),
  p99: median(r.map((x) => x.p99)),
  cpu: median(r.map((x) => x.cpuUsPerRequest)),
  non2xx: Math.max(...r.map((x) => x.non2xx)),
});
const token = of(runs.token);
const jwtStats = of(runs.jwt);
const rows = [['credential', 'req/s', 'p99 ms', 'CPU µs/req', 'non-2xx', 'CPU vs token']];
rows.push(['personal token (cached)', fmt(token.rps), fmt(token.p99, 2), fmt(token.cpu, 1), token.non2xx, '1.00']);
rows.push(['JWT, ES256 (cached)', fmt(jwtStats.rps), fmt(jwtStats.p99, 2), fmt(jwtStats.cpu, 1), jwtStats.non2xx, fmt(jwtStats.cpu / token.cpu, 2)]);
table(rows);
console.log(
  `\nper round, CPU µs/req: token ${runs.token.map((r) => fmt(r.cpuUsPerRequest, 1)).join(', ')}; jwt ${runs.jwt.map((r) => fmt(r.cpuUsPerRequest, 1)).join(', ')}`,
);
process.exit(0);
