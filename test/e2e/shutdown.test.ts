import { join } from 'node:path';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { initAndServe, type Served } from '../helpers/cli.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1 << 20;

// The upstream answers /slow after a while, counts uploads, and never answers /hang.
let release: (() => void) | undefined;
const upstream: Upstream = await startUpstream((req, res, record) => {
  if (req.url?.endsWith('/hang')) return;
  if (req.url?.endsWith('/download')) {
    // 200 MiB, written as the client reads it.
    res.writeHead(200, { 'content-length': String(200 * MiB) });
    let sent = 0;
    const chunk = Buffer.alloc(MiB, 2);
    const pump = () => {
      while (sent < 200 * MiB) {
        sent += MiB;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  if (req.url?.endsWith('/slow')) {
    release = () => res.end('slow done');
    return;
  }
  req.on('end', () => res.end(JSON.stringify({ bytes: record.bytes })));
});
t.teardown(() => upstream.close());

async function serveWithToken(t: Test, grace = '25s'): Promise<Served & { secret: string }> {
  const served = await initAndServe(t, {
    TOLLGATE_PROXY_UPSTREAM: upstream.origin,
    TOLLGATE_PROXY_SHUTDOWN_GRACE: grace,
    TOLLGATE_STORE_FILE_PATH: join(t.testdir({}), 'store.jsonl'),
  });
  const headers = { authorization: `Bearer ${served.admin}`, 'content-type': 'application/json' };
  await (await request(`${served.adminUrl}/v1/repositories`, { method: 'POST', headers, body: '{"name":"sensors"}' })).body.dump();
  const created = await request(`${served.adminUrl}/v1/tokens`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ kind: 'repository', name: 'x', repository: 'sensors', rights: ['query', 'stream'] }),
  });
  return { ...served, secret: ((await created.body.json()) as { secret: string }).secret };
}

t.beforeEach(() => {
  upstream.received.length = 0;
});

t.test('SIGTERM: readiness fails at once, a slow request in flight completes, new connections are refused, exit 0', async (t) => {
  const s = await serveWithToken(t);
  const slow = request(`${s.proxyUrl}/v1/repositories/sensors/slow`, { headers: { authorization: `Bearer ${s.secret}` } });
  await waitFor(() => release !== undefined, { what: 'the slow request to reach the upstream' });
  s.run.child.kill('SIGTERM');
  await waitFor(async () => (await request(`${s.adminUrl}/readyz`)).statusCode === 503, { what: '/readyz to say 503' });
  const refused = await request(`${s.proxyUrl}/v1/repositories/sensors/x`, { headers: { authorization: `Bearer ${s.secret}` }, headersTimeout: 2000 }).catch(
    (err: NodeJS.ErrnoException) => err,
  );
  t.equal((refused as NodeJS.ErrnoException).code, 'ECONNREFUSED', 'a new connection is refused, not left hanging');
  release!();
  release = undefined;
  const res = await slow;
  t.equal(res.statusCode, 200);
  t.equal(res.headers.connection, 'close', 'the draining connection is closed after its response');
  t.equal(await res.body.text(), 'slow done');
  t.equal(await s.run.exited, 0);
});

t.test('SIGTERM during a 200 MiB upload: the upload completes', async (t) => {
  const s = await serveWithToken(t);
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= 200 * MiB) return void this.push(null);
      sent += MiB;
      this.push(Buffer.alloc(MiB, 1));
    },
  });
  const upload = request(`${s.proxyUrl}/v1/repositories/sensors/stream`, { method: 'POST', headers: { authorization: `Bearer ${s.secret}` }, body });
  await waitFor(() => (upstream.received[0]?.bytes ?? 0) > 10 * MiB, { what: 'the upload to be under way' });
  s.run.child.kill('SIGTERM');
  const res = await upload;
  t.equal(res.statusCode, 200);
  t.same(await res.body.json(), { bytes: 200 * MiB });
  t.equal(await s.run.exited, 0);
});

t.test('SIGTERM during a 200 MiB download: the download completes', async (t) => {
  const s = await serveWithToken(t);
  const res = await request(`${s.proxyUrl}/v1/repositories/sensors/download`, { headers: { authorization: `Bearer ${s.secret}` } });
  t.equal(res.statusCode, 200);
  let received = 0;
  let signalled = false;
  for await (const part of res.body) {
    received += (part as Buffer).length;
    if (!signalled && received > 10 * MiB) {
      signalled = true;
      s.run.child.kill('SIGTERM');
    }
  }
  t.equal(received, 200 * MiB);
  t.equal(await s.run.exited, 0);
});

t.test('idle keep-alive connections are closed politely and do not hold the exit', async (t) => {
  const s = await serveWithToken(t);
  const agent = new Agent({ keepAliveTimeout: 60_000 });
  t.teardown(() => agent.close());
  const first = await request(`${s.proxyUrl}/v1/repositories/sensors/x`, { headers: { authorization: `Bearer ${s.secret}` }, dispatcher: agent });
  t.equal(first.statusCode, 200);
  await first.body.dump();
  s.run.child.kill('SIGTERM');
  t.equal(await s.run.exited, 0, 'exits without waiting out the 25 s grace for the idle socket');
});

t.test('a request still running when the grace period ends is cut, and the process exits 0', async (t) => {
  const s = await serveWithToken(t, '500ms');
  const hanging = request(`${s.proxyUrl}/v1/repositories/sensors/hang`, { headers: { authorization: `Bearer ${s.secret}` } }).catch((err: Error) => err);
  await waitFor(() => upstream.received.length === 1, { what: 'the request to reach the upstream' });
  s.run.child.kill('SIGTERM');
  t.equal(await s.run.exited, 0);
  t.type(await hanging, Error);
});

t.test('a second signal exits at once', async (t) => {
  const s = await serveWithToken(t);
  const hanging = request(`${s.proxyUrl}/v1/repositories/sensors/hang`, { headers: { authorization: `Bearer ${s.secret}` } }).catch((err: Error) => err);
  await waitFor(() => upstream.received.length === 1, { what: 'the request to reach the upstream' });
  s.run.child.kill('SIGTERM');
  await waitFor(async () => (await request(`${s.adminUrl}/readyz`)).statusCode === 503, { what: 'draining' });
  s.run.child.kill('SIGINT');
  t.equal(await s.run.exited, 1, 'not a clean drain, so not 0');
  await hanging;
});
