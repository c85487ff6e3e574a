import { createConnection } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { FlakyStore } from '../helpers/flaky-store.js';
import { bearer, startHarness } from '../helpers/harness.js';

t.test('store down and the token not cached: 503 with Retry-After and the problem body, as on the proxy port', async (t) => {
  const store = new FlakyStore();
  const h = await startHarness({ store, config: { decision: { listen: '127.0.0.1:0' } } });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  store.isDown = true;
  const res = await request(`http://127.0.0.1:${h.tollgate.decisionPort}/auth`, {
    headers: { ...bearer(token.secret), 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/v1/repositories/sensors/query' },
  });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '1');
  t.equal(((await res.body.json()) as { type: string }).type, '/problems/store-unavailable');
  const metrics = await (await request(`${h.admin}/metrics`)).body.text();
  t.match(metrics, /^tollgate_decision_requests_total\{outcome="unavailable"\} 1$/m);
});

t.test('shutdown closes an idle keep-alive connection on the decision port and stops listening', async (t) => {
  const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
  const port = h.tollgate.decisionPort!;
  const socket = createConnection({ port, host: '127.0.0.1' });
  let answered = '';
  socket.on('data', (chunk) => (answered += chunk.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET /auth HTTP/1.1\r\nHost: x\r\nX-Forwarded-Uri: /health\r\n\r\n');
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  t.match(answered, /^HTTP\/1\.1 200 /, 'answered, and the connection stays open');
  await h.close();
  await closed;
  t.pass('the idle connection was closed by shutdown');
  const after = await request(`http://127.0.0.1:${port}/auth`).catch((err: NodeJS.ErrnoException) => err);
  t.equal((after as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});
