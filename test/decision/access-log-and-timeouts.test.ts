import { createConnection } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { refusalHeaders } from '../../src/auth/verdict.js';
import { createLogger } from '../../src/log/logger.js';
import { generateSecret } from '../../src/tokens/secret.js';
import { bearer, startHarness } from '../helpers/harness.js';

t.test('one access-log line per answer, marked as the decision port, with no secret in it', async (t) => {
  const lines: string[] = [];
  const sink = {
    write: (line: string) => {
      lines.push(line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const h = await startHarness({ config: { proxy: { accessLog: true }, decision: { listen: '127.0.0.1:0' } }, logger: createLogger('info', sink) });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const leaked = generateSecret('personal');
  const ask = async (uri: string, secret?: string) => {
    const res = await request(`http://127.0.0.1:${h.tollgate.decisionPort}/auth`, {
      headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': uri, ...(secret ? bearer(secret) : {}) },
    });
    await res.body.dump();
    return res.statusCode;
  };
  lines.length = 0;
  t.equal(await ask(`/v1/repositories/sensors/query?access_token=${leaked}`, token.secret), 200);
  t.equal(await ask('/v1/repositories/sensors/query', leaked), 401);
  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.port === 'decision');
  t.equal(entries.length, 2);
  t.match(entries[0], { status: 200, outcome: 'allowed', right: 'query', tokenId: token.token.id, method: 'GET' });
  t.match(entries[1], { status: 401, outcome: 'unauthenticated', reason: 'invalid_token' });
  const all = lines.join('\n');
  t.notOk(all.includes(leaked), 'the secret in the asked target and in Authorization is never logged');
  t.notOk(all.includes(token.secret));
});

t.test('slowloris: a question whose head never ends is cut at the headers timeout with 408', async (t) => {
  const h = await startHarness({ config: { proxy: { timeouts: { headers: '300ms' } }, decision: { listen: '127.0.0.1:0' } } });
  t.teardown(() => h.close());
  const socket = createConnection({ port: h.tollgate.decisionPort!, host: '127.0.0.1' });
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString()));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write('GET /auth HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  await closed;
  t.match(text, /^HTTP\/1\.1 408 /);
});

t.test('headers the step adds to a refusal (rate-limit headers) are laid over the fixed ones', async (t) => {
  t.same({ ...refusalHeaders('insufficient_scope') }, { 'www-authenticate': 'Bearer realm="tollgate", error="insufficient_scope"' });
  t.same(
    { ...refusalHeaders('store_unavailable', { 'ratelimit-policy': '"burst";q=10;w=1' }) },
    { 'retry-after': '1', 'ratelimit-policy': '"burst";q=10;w=1' },
  );
  t.equal(refusalHeaders('no_route'), undefined);
});
