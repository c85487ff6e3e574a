import { execFile, execFileSync } from 'node:child_process';
import t from 'tap';
import { RedisStore } from '../../src/store/redis-store.js';
import { StoreUnavailableError } from '../../src/store/token-store.js';
import { entry, makeToken } from '../helpers/records.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

t.test('a slow Redis fails the command at the timeout instead of hanging', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const store = new RedisStore({ url: redis.url, keyPrefix: 'slow:', commandTimeoutMs: 100 });
  t.teardown(() => store.close());
  await store.waitUntilReady(5000);
  const sleeping = new Promise((resolve) => execFile('redis-cli', ['-p', String(redis.port), 'DEBUG', 'SLEEP', '1'], resolve));
  // Detected by a command (a probe may answer from the last success for up to a second).
  await waitFor(async () => (await store.getToken('0123456789abcdef').catch((err: unknown) => err)) instanceof StoreUnavailableError, {
    what: 'Redis to stall',
  });
  await t.rejects(store.getToken('0123456789abcdef'), StoreUnavailableError);
  await t.rejects(store.ping(), StoreUnavailableError, 'after a failed command the probe asks Redis, which is stalled');
  await sleeping;
});

t.test('a dead Redis fails commands at once with StoreUnavailableError', async (t) => {
  const redis = await startRedis();
  const store = new RedisStore({ url: redis.url, keyPrefix: 'dead:', commandTimeoutMs: 250 });
  t.teardown(() => store.close());
  await store.waitUntilReady(5000);
  const { record } = makeToken();
  await store.createToken(record, entry('created'));
  await redis.kill();
  const error = await store.getToken(record.id).catch((err: unknown) => err);
  t.type(error, StoreUnavailableError);
  t.equal((error as StoreUnavailableError).code, 'TG_STORE_UNAVAILABLE');
  await t.rejects(store.ping(), StoreUnavailableError);
});

t.test('the subscriber coming back after a drop resets the listener', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const store = new RedisStore({ url: redis.url, keyPrefix: 'sub:', commandTimeoutMs: 250 });
  t.teardown(() => store.close());
  await store.waitUntilReady(5000);
  let resets = 0;
  store.subscribe({ onMessage: () => {}, onReset: () => resets++ });
  await waitFor(() => subscribers(redis.port) === 1, { what: 'the subscription' });
  execFileSync('redis-cli', ['-p', String(redis.port), 'CLIENT', 'KILL', 'TYPE', 'pubsub']);
  await waitFor(() => resets === 1, { what: 'a reset after reconnect' });
  t.equal(resets, 1);
});

function subscribers(port: number): number {
  const out = execFileSync('redis-cli', ['-p', String(port), 'PUBSUB', 'NUMSUB', 'sub:invalidate']).toString();
  return Number(out.trim().split('\n')[1]);
}

t.test('ping answers from a recent successful command without a round trip, and from a real PING otherwise', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const store = new RedisStore({ url: redis.url, keyPrefix: 'ping:', commandTimeoutMs: 300 });
  t.teardown(() => store.close());
  await store.waitUntilReady(5000);
  await store.getToken('0123456789abcdef');
  const commands = () =>
    Number(/total_commands_processed:(\d+)/.exec(execFileSync('redis-cli', ['-p', String(redis.port), 'info', 'stats'], { encoding: 'utf8' }))![1]);
  const before = commands();
  for (let i = 0; i < 20; i++) await store.ping();
  t.ok(commands() - before <= 1, 'twenty probes within a second of a command: no PINGs (the INFO itself is one command)');
  // An outage: the connection leaves 'ready', so the probe stops trusting the last success.
  await redis.kill();
  await waitFor(
    () =>
      store.ping().then(
        () => false,
        () => true,
      ),
    { what: 'the probe to fail once Redis is gone', timeoutMs: 2000, everyMs: 10 },
  );
  t.pass('the probe fails with the connection down, although the last success was recent');
});

t.test('a token hash written before lent tokens existed reads as independent, with its own budget', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const store = new RedisStore({ url: redis.url, keyPrefix: 'old:', commandTimeoutMs: 1000 });
  t.teardown(() => store.close());
  await store.waitUntilReady(5000);
  const { record } = makeToken({ parentId: '0123456789abcdef' });
  await store.createToken(record, entry('created'));
  // As an earlier release wrote it: neither field in the hash.
  const removed = execFileSync('redis-cli', ['-p', String(redis.port), 'HDEL', `old:token:{${record.id}}`, 'lent', 'budgetId'])
    .toString()
    .trim();
  t.equal(removed, '2', 'both fields were there to remove');
  const read = (await store.getToken(record.id))!;
  t.same(read, record, 'the record as it was, with no lent and no budget id');
  t.equal(read.lent, undefined);
});
