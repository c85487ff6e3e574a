import t from 'tap';
import { request } from 'undici';
import { createLogger } from '../../src/log/logger.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue #23: while Redis was paused nothing was logged. An outage, the store answering again,
// a reconnect and the cache reset it causes are each logged once per transition, not per
// failed request. The log is captured as in test/proxy/access-log-secrets.test.ts.
const redis = await startRedis();
t.teardown(() => redis.stop());
const lines: string[] = [];
const sink = {
  write: (line: string) => {
    lines.push(line);
    return true;
  },
} as unknown as NodeJS.WritableStream;
const store = new RedisStore({ url: redis.url, keyPrefix: 'health:', commandTimeoutMs: 250 });
await store.waitUntilReady(5000);
const h = await startHarness({ store, logger: createLogger('info', sink) });
t.teardown(() => h.close());
const path = `${h.proxy}/v1/repositories/sensors/query`;

const entries = () => lines.map((line) => JSON.parse(line) as { level: number; msg: string; connection?: string; op?: string });
const withMsg = (msg: string) => entries().filter((entry) => entry.msg.startsWith(msg));
const ready = async () => (await request(`${h.admin}/readyz`)).statusCode;

t.test('a paused store: one error line for the outage, one warn line when it answers again', async (t) => {
  const token = await h.token(['query']);
  h.clock.advance(60_000);
  lines.length = 0;
  redis.process.kill('SIGSTOP');
  t.teardown(() => redis.process.kill('SIGCONT'));
  for (let i = 0; i < 3; i++) {
    const res = await request(path, { headers: bearer(token.secret) });
    t.equal(res.statusCode, 503, 'uncached lookups fail closed');
    await res.body.dump();
  }
  t.equal(await ready(), 503);
  const down = withMsg('token store unavailable');
  t.equal(down.length, 1, 'one line for the outage, not one per failed command');
  t.match(down[0], { level: 50 });
  t.same(withMsg('token store answering again'), []);

  redis.process.kill('SIGCONT');
  await waitFor(async () => (await ready()) === 200, { what: '/readyz to recover', timeoutMs: 10_000 });
  const ok = await request(path, { headers: bearer(token.secret) });
  t.equal(ok.statusCode, 200);
  await ok.body.dump();
  const up = withMsg('token store answering again');
  t.equal(up.length, 1);
  t.match(up[0], { level: 40 });
  t.equal(withMsg('token store unavailable').length, 1);
  t.same(withMsg('token store connection re-established'), [], 'a pause drops no connection');
});

t.test('a restart: the outage, each connection coming back, and the cache reset, once each', async (t) => {
  lines.length = 0;
  await redis.kill();
  t.equal(await ready(), 503);
  t.equal(await ready(), 503);
  t.equal(withMsg('token store unavailable').length, 1);
  await redis.restart();
  await waitFor(async () => (await ready()) === 200, { what: '/readyz to recover', timeoutMs: 10_000 });
  await waitFor(() => withMsg('token cache cleared').length > 0, { what: 'the cache reset to be logged', timeoutMs: 10_000 });
  const back = withMsg('token store connection re-established');
  t.same(back.map((entry) => entry.connection).sort(), ['commands', 'subscriber']);
  t.ok(back.every((entry) => entry.level === 40));
  t.match(withMsg('token cache cleared'), [{ level: 40 }]);
  t.equal(withMsg('token cache cleared').length, 1);
  t.equal(withMsg('token store answering again').length, 1);
  t.equal(withMsg('token store unavailable').length, 1);
});
