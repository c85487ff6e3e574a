import t from 'tap';
import { Agent, Pool, request } from 'undici';
import { startRedis } from '../helpers/redis-server.js';
import { adminCall, initAdminSecret, redisReplicaEnv, serveRole } from '../helpers/roles.js';
import { startUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

// The soak in small (`npm run bench:soak` is the long one, with more faults and the memory
// figures): two replicas of the built CLI on one real Redis, workers sending GETs and 64 KiB
// uploads with tokens revoked and restored all the while, downloads held open through it, and
// the Redis server killed and started again from its append-only file. Only correctness is
// asserted. The bound a revoked token is held to is cache.ttl (2 s here), the one that holds
// even for a replica that missed the message (docs/caching.md); the 100 ms p99 is the
// benchmark's to measure, never a test's.
const LOAD_MS = 10_000;
const TTL_MS = 2000;
const TOKENS = 30;
const STEADY = 5; // never revoked: a 401 or a cut on one is wrongful
const WORKERS = 6;

// The upstream: `?hold` opens a download that never ends by itself; anything else reads the
// body and answers 200.
const handler: UpstreamHandler = (req, res) => {
  if (req.url!.endsWith('?hold')) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: open\n\n');
    return;
  }
  req.on('end', () => res.end('{"ok":true}'));
  req.resume();
};

type State = 'active' | 'revoking' | 'revoked' | 'restoring';
interface Token {
  id: string;
  secret: string;
  steady: boolean;
  state: State;
  revokedAt: number;
  revokes: number;
  /** A change whose call failed (the store was down): what it did is not known until the next one. */
  uncertain: boolean;
}

t.test(
  'two replicas under load, revocations and a Redis restart: nothing served past the bound, no wrongful cut, no 5xx but 503 in the outage, no crash',
  async (t) => {
    const redis = await startRedis({ persist: true });
    t.teardown(() => redis.stop());
    const upstream = await startUpstream(handler);
    t.teardown(() => upstream.close());
    // The command timeout is raised from 250 ms: on a CI machine short of CPU, a lookup that waits
    // its turn past 250 ms is a 503 by design (docs/stores.md), which this test would count as a
    // defect outside the outage; what it checks is correctness, not how fast a starved Redis answers.
    const env = redisReplicaEnv(redis.url, {
      TOLLGATE_PROXY_UPSTREAM: upstream.origin,
      TOLLGATE_CACHE_TTL: `${TTL_MS}ms`,
      TOLLGATE_STORE_REDIS_COMMAND_TIMEOUT: '2s',
    });
    const admin = await initAdminSecret(env);
    const replicas = [await serveRole(t, 'all', env), await serveRole(t, 'all', env)];
    const [a] = replicas;
    t.equal((await adminCall(a!.adminUrl, 'POST', '/v1/repositories', admin, { name: 'soak' })).status, 201);
    const tokens: Token[] = [];
    for (let i = 0; i < TOKENS; i++) {
      const made = await adminCall(a!.adminUrl, 'POST', '/v1/tokens', admin, {
        kind: 'repository',
        name: `soak-ci ${i}`,
        repository: 'soak',
        rights: ['query', 'stream'],
      });
      tokens.push({ id: made.body.token.id, secret: made.body.secret, steady: i < STEADY, state: 'active', revokedAt: 0, revokes: 0, uncertain: false });
    }
    const revocable = tokens.filter((token) => !token.steady);
    const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

    const defects: string[] = [];
    const counts = new Map<string, number>();
    const count = (kind: string) => counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const outages: Array<{ from: number; to: number }> = [];
    const inOutage = (from: number, to: number) => outages.some((w) => w.from <= to && from <= w.to);
    let running = true;

    /** One outcome: `status` (undefined when the exchange failed or was cut), judged on the token as it was when it left. */
    const judge = (
      token: Token,
      at: { state: State; revokedAt: number; revokes: number },
      status: number | undefined,
      from: number,
      to: number,
      what: string,
    ) => {
      const uncertain = token.uncertain && (status === 200 || status === 401 || status === undefined);
      if (uncertain) return count('uncertain');
      if (status === 200) {
        if (at.state === 'revoked' && from - at.revokedAt > TTL_MS)
          defects.push(`${what} served ${Math.round(from - at.revokedAt)} ms after its token's revoke returned`);
        return count('200');
      }
      if (status === 401) {
        if (token.steady) defects.push(`${what}: 401 on a token never revoked`);
        return count('401');
      }
      if (status === 503 && inOutage(from, to)) return count('503 in the outage');
      if (status !== undefined) {
        defects.push(`${what}: ${status}${inOutage(from, to) ? ' in the outage' : ''}`);
        return count(String(status));
      }
      // Cut: correct only when the token was being revoked.
      const revoked = !token.steady && (at.state === 'revoking' || at.state === 'revoked' || token.revokes > at.revokes);
      if (!revoked) defects.push(`${what} cut on a token ${token.steady ? 'never revoked' : 'not being revoked'}`);
      return count(revoked ? 'cut by its revoke' : 'wrongful cut');
    };
    const snapshot = (token: Token) => ({ state: token.state, revokedAt: token.revokedAt, revokes: token.revokes });

    const pools = replicas.map((r) => new Pool(r.proxyUrl!, { connections: WORKERS }));
    t.teardown(() => Promise.all(pools.map((p) => p.destroy())));
    const upload = Buffer.alloc(64 * 1024, 7);
    async function worker() {
      while (running) {
        const token = pick(tokens);
        const replica = Math.floor(Math.random() * pools.length);
        const isUpload = Math.random() < 0.25;
        const at = snapshot(token);
        const from = performance.now();
        let status: number | undefined;
        try {
          const res = await pools[replica]!.request({
            path: isUpload ? '/v1/repositories/soak/stream' : '/v1/repositories/soak/query',
            method: isUpload ? 'POST' : 'GET',
            headers: { authorization: `Bearer ${token.secret}` },
            body: isUpload ? upload : undefined,
          });
          await res.body.dump();
          status = res.statusCode;
        } catch {
          status = undefined;
        }
        judge(token, at, status, from, performance.now(), `${isUpload ? 'an upload' : 'a GET'} on replica ${replica}`);
      }
    }

    // Downloads held open: on a token never revoked (one per replica) they must outlive the
    // outage; on a revocable one they must end once it is revoked, and only then.
    const streamAgent = new Agent();
    t.teardown(() => streamAgent.destroy());
    const stop = new AbortController();
    const openStreams = new Set<{ token: Token }>();
    async function hold(replica: number, token: Token): Promise<{ status?: number; cut?: boolean }> {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(`${replicas[replica]!.proxyUrl}/v1/repositories/soak/query?hold`, {
          headers: { authorization: `Bearer ${token.secret}` },
          dispatcher: streamAgent,
          signal: stop.signal,
        });
      } catch {
        return running ? { cut: true } : {};
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        return { status: res.statusCode };
      }
      const open = { token };
      openStreams.add(open);
      try {
        for await (const _ of res.body);
        return running ? { cut: true } : {}; // ended whole: not something a held download does
      } catch {
        return running ? { cut: true } : {};
      } finally {
        openStreams.delete(open);
      }
    }
    async function steadyStream(replica: number) {
      const token = tokens[replica]!;
      const from = performance.now();
      const outcome = await hold(replica, token);
      if (running || outcome.status !== undefined)
        judge(token, snapshot(token), outcome.status, from, performance.now(), `a held download on replica ${replica}`);
      else count('held through the run');
    }
    async function revocableStream(replica: number) {
      while (running) {
        const token = pick(revocable.filter((x) => x.state === 'active')) ?? pick(revocable);
        const at = snapshot(token);
        const from = performance.now();
        const outcome = await hold(replica, token);
        if (!running) return;
        judge(token, at, outcome.status, from, performance.now(), `a held download on replica ${replica}`);
      }
    }
    // A download still open on a token revoked longer than the bound ago.
    const watch = setInterval(() => {
      for (const { token } of openStreams) {
        if (token.state === 'revoked' && !token.uncertain && performance.now() - token.revokedAt > TTL_MS + 1000)
          defects.push('a held download outlived its revoked token by the bound');
      }
    }, 250);
    t.teardown(() => clearInterval(watch));

    async function mutator() {
      while (running) {
        const token = pick(revocable);
        if (token.state === 'active' || token.state === 'revoked') {
          const revoking = token.state === 'active';
          token.state = revoking ? 'revoking' : 'restoring';
          if (revoking) token.revokes++;
          const res = await adminCall(a!.adminUrl, 'POST', `/v1/tokens/${token.id}/${revoking ? 'revoke' : 'restore'}`, admin).catch(() => ({ status: 0 }));
          token.state = revoking ? 'revoked' : 'active';
          token.revokedAt = performance.now();
          token.uncertain = res.status !== 200;
          count(res.status === 200 ? 'change' : 'change failed');
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    async function outage() {
      await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
      const window = { from: performance.now(), to: Infinity };
      outages.push(window);
      await redis.kill();
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the outage itself
      await redis.restart();
      await waitFor(
        async () =>
          (
            await Promise.all(
              replicas.map((r) =>
                request(`${r.adminUrl}/readyz`).then(async (res) => {
                  await res.body.dump();
                  return res.statusCode === 200;
                }),
              ),
            )
          ).every(Boolean),
        {
          what: 'both replicas ready after the restart',
          timeoutMs: 20_000,
          everyMs: 50,
        },
      );
      // Reconnects and the first lookups after them still belong to the outage.
      window.to = performance.now() + 2000;
      await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
      running = false;
      stop.abort();
    }

    await Promise.all([
      outage(),
      mutator(),
      ...Array.from({ length: WORKERS }, worker),
      steadyStream(0),
      steadyStream(1),
      revocableStream(0),
      revocableStream(1),
    ]);
    t.comment(JSON.stringify(Object.fromEntries(counts)));

    t.same(defects.slice(0, 10), [], 'no defect: nothing served past the bound, no wrongful cut or refusal, no 5xx but 503 in the outage');
    t.ok((counts.get('200') ?? 0) > 100 && (counts.get('401') ?? 0) > 10 && (counts.get('change') ?? 0) > 50, 'the load ran: served, refused and changed');
    t.equal(counts.get('held through the run'), 2, 'both downloads on tokens never revoked were open from start to end, through the outage');
    t.ok((counts.get('cut by its revoke') ?? 0) > 0, 'held downloads were cut by their revokes');
    for (const [i, replica] of replicas.entries()) {
      t.equal(replica.run.child.exitCode, null, `replica ${i} is still running`);
      t.equal(await replica.stop(), 0, `replica ${i} drains and exits 0 on SIGTERM`);
    }
  },
);
