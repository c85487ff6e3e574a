import { createServer } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { bearer, startHarness } from '../helpers/harness.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

const path = '/v1/repositories/sensors/query';

t.test('upstream refusing connections: 502', async (t) => {
  const h = await startHarness({ config: { proxy: { upstream: `http://127.0.0.1:${await freePort()}` } } });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const res = await request(`${h.proxy}${path}`, { headers: bearer(token.secret) });
  t.equal(res.statusCode, 502);
  t.equal(res.headers['content-type'], 'application/problem+json');
  t.equal(((await res.body.json()) as { type: string }).type, '/problems/upstream-unreachable');
});

t.test('upstream resetting before answering: 502', async (t) => {
  const raw = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  t.teardown(() => raw.close());
  const port = (raw.address() as { port: number }).port;
  const h = await startHarness({ config: { proxy: { upstream: `http://127.0.0.1:${port}` } } });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const res = await request(`${h.proxy}${path}`, { headers: bearer(token.secret) });
  t.equal(res.statusCode, 502);
  t.equal(((await res.body.json()) as { type: string }).type, '/problems/upstream-reset');
  const metrics = await (await request(`${h.admin}/metrics`)).body.text();
  t.match(metrics, /^tollgate_upstream_errors_total\{reason="reset"\} 1$/m, 'counted under its reason');
});

t.test('upstream never answering: 504 after the headers timeout', async (t) => {
  const h = await startHarness({
    config: { proxy: { timeouts: { headers: '300ms' } } },
    upstream: () => {
      /* never answers */
    },
  });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const res = await request(`${h.proxy}${path}`, { headers: bearer(token.secret) });
  t.equal(res.statusCode, 504);
  t.equal(((await res.body.json()) as { type: string }).type, '/problems/upstream-timeout');
});

t.test('upstream dying mid-body: the client response is cut, not completed', async (t) => {
  const h = await startHarness({
    upstream: (req, res) => {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000));
      setImmediate(() => req.socket.destroy());
    },
  });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const res = await request(`${h.proxy}${path}`, { headers: bearer(token.secret) });
  t.equal(res.statusCode, 200);
  await t.rejects(res.body.arrayBuffer());
});

t.test('client going away aborts the upstream request', async (t) => {
  let upstreamCut = false;
  const h = await startHarness({
    upstream: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024));
      // The response stays open; only Tollgate aborting can close it.
      res.on('close', () => (upstreamCut = !res.writableFinished));
    },
  });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const controller = new AbortController();
  const res = await request(`${h.proxy}${path}`, { headers: bearer(token.secret), signal: controller.signal });
  t.equal(res.statusCode, 200);
  controller.abort();
  await waitFor(() => upstreamCut, { what: 'the upstream response to be cut' });
  t.ok(upstreamCut);
});
