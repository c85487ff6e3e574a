import t from 'tap';
import { request } from 'undici';
import { startTollgate } from '../../src/app.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { validate } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { generateSecret } from '../../src/tokens/secret.js';
import { FakeClock } from '../helpers/fakes.js';
import { startUpstream } from '../helpers/upstream.js';

// Regression: `?token=<secret>` and a secret sent as X-Request-Id were written to the access log
// verbatim, and the request id was forwarded upstream and echoed back. Tollgate runs here with a
// real logger writing into `lines`, in front of a recording upstream.
const upstream = await startUpstream();
const lines: string[] = [];
const sink = {
  write: (line: string) => {
    lines.push(line);
    return true;
  },
} as unknown as NodeJS.WritableStream;
const config = validate({
  ...structuredClone(DEFAULTS),
  proxy: { ...structuredClone(DEFAULTS).proxy, listen: '127.0.0.1:0', upstream: upstream.origin, accessLog: true },
  admin: { ...structuredClone(DEFAULTS).admin, listen: '127.0.0.1:0' },
  store: { ...structuredClone(DEFAULTS).store, backend: 'memory' },
});
const store = new MemoryStore();
const clock = new FakeClock(Date.now());
const tollgate = await startTollgate(config, store, createLogger('info', sink), clock);
t.teardown(async () => {
  await tollgate.shutdown(0);
  await upstream.close();
});
await store.createRepository({ name: 'sensors', createdAt: clock.now(), createdBy: 'test' });
const { secret } = await tollgate.tokens.createUnchecked('test', { kind: 'repository', name: 'reader', repository: 'sensors', rights: ['query'] });
const proxy = `http://127.0.0.1:${tollgate.proxyPort}`;
const leaked = generateSecret('personal');

t.beforeEach(() => {
  lines.length = 0;
  upstream.received.length = 0;
});

/** The access-log entries written since the test began. */
const accessLines = () => lines.filter((line) => line.includes('"requestId"')).map((line) => JSON.parse(line) as Record<string, unknown>);

t.test('credential-named query parameters are logged as [redacted]; the upstream still gets them', async (t) => {
  const res = await request(`${proxy}/v1/repositories/sensors/q?token=${leaked}&API_KEY=k1&x=1&sig=s`, { headers: { authorization: `Bearer ${secret}` } });
  t.equal(res.statusCode, 200);
  await res.body.dump();
  const [entry] = accessLines();
  t.equal(entry?.path, '/v1/repositories/sensors/q?token=[redacted]&API_KEY=[redacted]&x=1&sig=[redacted]');
  t.equal(upstream.received[0]!.url, `/v1/repositories/sensors/q?token=${leaked}&API_KEY=k1&x=1&sig=s`, 'forwarding is unchanged');
  t.notOk(lines.join('').includes(leaked.slice(4)));
});

t.test('a secret anywhere in the target is redacted in the log, also on a refused request', async (t) => {
  const res = await request(`${proxy}/v1/repositories/sensors/${leaked}?q=${leaked.replace('_', '%5F')}`);
  t.equal(res.statusCode, 401);
  await res.body.dump();
  const [entry] = accessLines();
  t.equal(entry?.path, '/v1/repositories/sensors/[redacted]?q=[redacted]');
  t.notOk(lines.join('').includes(leaked.slice(4)));
});

t.test('a request id that is or holds a secret is replaced by a new one: logged, forwarded and returned', async (t) => {
  for (const id of [leaked, `trace-${leaked}-1`, leaked.replace('_', '%5F')]) {
    lines.length = 0;
    upstream.received.length = 0;
    const res = await request(`${proxy}/v1/repositories/sensors/q`, { headers: { authorization: `Bearer ${secret}`, 'x-request-id': id } });
    t.equal(res.statusCode, 200);
    await res.body.dump();
    const made = res.headers['x-request-id'] as string;
    t.match(made, /^[0-9a-f-]{36}$/, 'a fresh id in the response');
    t.equal(upstream.received[0]!.headers['x-request-id'], made, 'the same fresh id upstream');
    t.equal(accessLines()[0]?.requestId, made, 'and in the log');
    t.notOk(lines.join('').includes(leaked.slice(4)));
  }
  const refused = await request(`${proxy}/v1/repositories/sensors/q`, { headers: { 'x-request-id': leaked } });
  await refused.body.dump();
  t.equal(refused.statusCode, 401);
  t.not(refused.headers['x-request-id'], leaked, 'refusals too');
});

t.test('an ordinary request id and target are logged as sent', async (t) => {
  const res = await request(`${proxy}/v1/repositories/sensors/q?monkey=1&sort=key`, {
    headers: { authorization: `Bearer ${secret}`, 'x-request-id': 'abc_123' },
  });
  await res.body.dump();
  t.equal(res.headers['x-request-id'], 'abc_123');
  t.match(accessLines()[0], { requestId: 'abc_123', path: '/v1/repositories/sensors/q?monkey=1&sort=key' });
});

t.test('an access_token that authorized the request is in neither the log nor the upstream request', async (t) => {
  const res = await request(`${proxy}/v1/repositories/sensors/events?access_token=${secret}&since=5`);
  t.equal(res.statusCode, 200);
  await res.body.dump();
  t.equal(accessLines()[0]?.path, '/v1/repositories/sensors/events?access_token=[redacted]&since=5');
  t.equal(upstream.received[0]!.url, '/v1/repositories/sensors/events?since=5');
  t.notOk(lines.join('').includes(secret.slice(4)), 'no line holds the secret');
  t.notOk(JSON.stringify(upstream.received[0]!.rawHeaders).includes(secret.slice(4)), 'nor does any forwarded header');
});
