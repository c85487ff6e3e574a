import t from 'tap';
import { request } from 'undici';
import { RedisStore } from '../../src/store/redis-store.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { startSentinel } from '../helpers/redis-topologies.js';
import { waitFor } from '../helpers/wait-for.js';

t.test('through Sentinel: after the master dies, tokens are still served and writes work', async (t) => {
  const sentinel = await startSentinel();
  t.teardown(() => sentinel.stop());
  const store = new RedisStore({
    url: 'redis://127.0.0.1/0',
    sentinels: [{ host: '127.0.0.1', port: sentinel.sentinel }],
    sentinelName: 'mymaster',
    keyPrefix: 'sentinel:',
    commandTimeoutMs: 500,
  });
  t.ok(await store.waitUntilReady(10_000), 'connected through Sentinel');
  const h = await startHarness({ store, config: { cache: { ttl: '250ms' } } });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const path = `${h.proxy}/v1/repositories/sensors/query`;
  const status = async (secret: string) => {
    const res = await request(path, { headers: bearer(secret) });
    await res.body.dump();
    return res.statusCode;
  };
  t.equal(await status(token.secret), 200);

  // What was written so far (the repository, the token) is on the replica before the master dies.
  await sentinel.replicated();
  await sentinel.kill(sentinel.master);
  await waitFor(async () => (await sentinel.currentMaster()) === sentinel.replica, { what: 'Sentinel to fail over', timeoutMs: 20_000, everyMs: 100 });

  // The cache TTL is short, so these reads reach the promoted replica, which holds the token.
  h.clock.advance(1000);
  await waitFor(async () => (await status(token.secret)) === 200, { what: 'the token to be served after failover', timeoutMs: 10_000, everyMs: 100 });
  let created: Awaited<ReturnType<typeof h.token>> | undefined;
  let lastError = 'none';
  await waitFor(
    async () => {
      created = await h.token(['query']).catch((err: unknown) => {
        lastError = String(err);
        return undefined;
      });
      return created !== undefined;
    },
    { what: 'a write to succeed on the new master', timeoutMs: 10_000, everyMs: 100 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; the last failure: ${lastError}`);
  });
  t.equal(await status(created!.secret), 200, 'a token made after failover works');

  // Usage history through Sentinel (docs/usage.md): counted by the proxy, added on the new master.
  t.equal(await status(created!.secret), 200);
  await h.tollgate.flushUsage();
  const hours = await store.usageOf(created!.token.id, h.clock.now() - 3_600_000, h.clock.now() + 3_600_000);
  t.equal(
    hours.reduce((sum, hour) => sum + hour.allowed, 0),
    2,
    'both requests of the new token counted once',
  );
});
