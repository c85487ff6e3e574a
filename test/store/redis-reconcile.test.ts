import { execFileSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { RedisStore } from '../../src/store/redis-store.js';
import { entry, makeToken } from '../helpers/records.js';
import { startRedis } from '../helpers/redis-server.js';
import { startCluster } from '../helpers/redis-topologies.js';

// The counters behind tollgate_tokens and tollgate_tokens_expiring_soon, corrupted the way a
// crash between a token's script and its change script would leave them (on Cluster, where
// the two cannot be one script), and repaired by reconcile() from the tokens themselves.

const NOW = 1_800_000_000_000;

async function corruptAndRepair(t: Test, store: RedisStore, redisCli: (...args: string[]) => void) {
  const tokens = [
    makeToken({ expiresAt: NOW + 1000 }).record,
    makeToken({ kind: 'personal', user: 'alice', expiresAt: NOW + 2000 }).record,
    makeToken({ status: 'revoked' }).record,
    makeToken().record,
  ];
  for (const record of tokens) await store.createToken(record, entry('created'));
  const truth = await store.countTokens(NOW);
  const soon = await store.countExpiring(NOW, NOW + 10_000);
  t.same(soon, { repository: 1, personal: 1 });
  // A crash after the token script: counts off, an expiry missing.
  redisCli('HSET', 'rc:{idx}:counts', 'repository:active', '99', 'personal:revoked', '7');
  redisCli('DEL', 'rc:{idx}:expiry:personal');
  t.not(JSON.stringify(await store.countTokens(NOW)), JSON.stringify(truth), 'the counts are off');
  t.same(await store.reconcile(), { tokens: 4 });
  t.same(await store.countTokens(NOW), truth, 'recounted from the tokens');
  t.same(await store.countExpiring(NOW, NOW + 10_000), soon, 'the expiry sets too');
  t.equal([...(await store.listTokens())].length, 4, 'the list index still holds every token');
}

t.test('on one Redis node', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const store = new RedisStore({ url: redis.url, keyPrefix: 'rc:', commandTimeoutMs: 1000 });
  t.teardown(() => store.close());
  await store.waitUntilReady(5000);
  await corruptAndRepair(t, store, (...args) => execFileSync('redis-cli', ['-p', String(redis.port), ...args]));
});

t.test('on a Redis Cluster, where a token and its counters live in different slots', async (t) => {
  const cluster = await startCluster();
  t.teardown(() => cluster.stop());
  const store = new RedisStore({
    url: 'redis://127.0.0.1',
    cluster: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
    keyPrefix: 'rc:',
    commandTimeoutMs: 1000,
  });
  t.teardown(() => store.close());
  await store.waitUntilReady(10_000);
  await corruptAndRepair(t, store, (...args) => execFileSync('redis-cli', ['-c', '-p', String(cluster.ports[0]), ...args]));
});

t.test('tollgate reconcile recounts a Redis store on demand, and says a file store needs none', async (t) => {
  const { runCli } = await import('../helpers/cli.js');
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const store = new RedisStore({ url: redis.url, keyPrefix: 'tollgate:', commandTimeoutMs: 1000 });
  t.teardown(() => store.close());
  await store.waitUntilReady(5000);
  await store.createToken(makeToken().record, entry('created'));
  execFileSync('redis-cli', ['-p', String(redis.port), 'HSET', 'tollgate:{idx}:counts', 'repository:active', '42']);
  const run = runCli(['reconcile'], { TOLLGATE_STORE_BACKEND: 'redis', TOLLGATE_STORE_REDIS_URL: redis.url });
  t.equal(await run.exited, 0, run.stderr());
  t.match(run.stdout(), /^recounted 1 tokens;/m);
  t.same((await store.countTokens(NOW)).find((c) => c.kind === 'repository' && c.status === 'active')?.count, 1);
  const dir = t.testdir({});
  const file = runCli(['reconcile'], { TOLLGATE_STORE_BACKEND: 'file', TOLLGATE_STORE_FILE_PATH: `${dir}/s.jsonl` });
  t.equal(await file.exited, 0);
  t.match(file.stdout(), /^nothing to recount: the file store counts from its tokens\nno duplicate token names\n/);
});
