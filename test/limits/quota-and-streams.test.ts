import type { ServerResponse } from 'node:http';
import t from 'tap';
import { request } from 'undici';
import { sliceOf } from '../../src/limits/lease.js';
import { persistentBackends } from '../helpers/backends.js';
import { FakeClock } from '../helpers/fakes.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';
import type { UpstreamHandler } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

// A byte quota ends a running download at the quota, and `streams` bounds the exchanges open at
// once; on the file store and on a real Redis.

const KiB = 1024;
const MiB = 1024 * KiB;
const DOWNLOAD = 8 * MiB;
const QUOTA = MiB;
const piece = Buffer.alloc(64 * KiB, 0x62);

/** Responses to /…/held wait here until the test ends them. */
const held: ServerResponse[] = [];

const upstream: UpstreamHandler = (req, res) => {
  if (req.url!.endsWith('/big')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(DOWNLOAD) });
    let sent = 0;
    const pump = (): void => {
      while (sent < DOWNLOAD) {
        sent += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    res.on('close', () => (sent = DOWNLOAD));
    return;
  }
  if (req.url!.endsWith('/fail')) {
    req.socket.destroy(); // the upstream fails before answering: 502
    return;
  }
  if (req.url!.endsWith('/held')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('open');
    held.push(res);
    return;
  }
  req.resume();
  req.on('end', () => res.end('ok'));
};

const backends = await persistentBackends(t);

for (const backend of ['file', 'redis'] as const) {
  async function harness(): Promise<Harness> {
    const h = await startHarness({ store: await backends[backend](), clock: new FakeClock(1_750_000_000_000), upstream });
    t.teardown(() => h.close());
    return h;
  }

  t.test(`${backend}: a byte quota ends a running download at the quota`, async (t) => {
    const h = await harness();
    const { secret } = await h.token(['query'], 'sensors', { limits: { quota: { bytes: QUOTA, per: '1h' } } });
    const response = await request(`${h.proxy}/v1/repositories/sensors/big`, { headers: bearer(secret) });
    t.equal(response.statusCode, 200);
    t.equal(response.headers['ratelimit-policy'], `"quota";q=${QUOTA};qu="content-bytes";w=3600`);
    let received = 0;
    let cut = false;
    try {
      for await (const chunk of response.body) received += (chunk as Buffer).length;
    } catch {
      cut = true;
    }
    t.ok(cut, 'the download was cut, not ended as if whole');
    t.ok(received < DOWNLOAD, `stopped early (${received} of ${DOWNLOAD})`);
    t.ok(received <= QUOTA + sliceOf('quota', QUOTA), `at the quota, give or take one lease (${received})`);
    t.ok(received >= QUOTA / 2, `the quota was usable (${received})`);

    const next = await request(`${h.proxy}/v1/repositories/sensors/items`, { headers: bearer(secret) });
    const problem = (await next.body.json()) as { type: string };
    t.equal(next.statusCode, 429);
    t.equal(problem.type, '/problems/quota-exceeded');
    t.match(next.headers['retry-after'], /^[1-9]\d*$/);

    const metrics = await (await request(`${h.admin}/metrics`)).body.text();
    t.match(metrics, /tollgate_exchanges_ended_total\{reason="quota"\} 1/);
    t.match(metrics, /tollgate_limited_total\{limit="quota"\} 1/);
  });

  t.test(`${backend}: streams: 2 refuses the third concurrent stream and allows it again when one ends`, async (t) => {
    const h = await harness();
    const { secret } = await h.token(['query'], 'sensors', { limits: { streams: 2 } });
    const url = `${h.proxy}/v1/repositories/sensors/held`;
    held.length = 0;
    const first = await request(url, { headers: bearer(secret) });
    const second = await request(url, { headers: bearer(secret) });
    t.equal(first.statusCode, 200);
    t.equal(second.statusCode, 200);
    t.equal(first.headers['ratelimit-policy'], '"streams";q=2;qu="concurrent-requests"');

    const third = await request(url, { headers: bearer(secret) });
    const problem = (await third.body.json()) as { type: string };
    t.equal(third.statusCode, 429);
    t.equal(problem.type, '/problems/too-many-streams');
    t.match(third.headers['retry-after'], /^[1-9]\d*$/);

    // One stream ends: the next is allowed.
    await waitFor(() => held.length === 2, { what: 'both streams open upstream' });
    held[0]!.end();
    await first.body.text();
    const fourth = await request(url, { headers: bearer(secret) });
    t.equal(fourth.statusCode, 200, 'allowed again when one ended');

    // A client that leaves gives its slot back too.
    second.body.destroy();
    await waitFor(
      async () => {
        const probe = await request(url, { headers: bearer(secret) });
        if (probe.statusCode === 200) probe.body.destroy();
        else await probe.body.text();
        return probe.statusCode === 200;
      },
      { what: 'the slot of the client that left' },
    );
    t.pass('a stream whose client left is counted no more');
    for (const res of held) res.destroy();
    fourth.body.destroy();
  });

  t.test(`${backend}: a stream that ends in an upstream failure gives its slot back`, async (t) => {
    const h = await harness();
    const { secret } = await h.token(['query'], 'sensors', { limits: { streams: 1 } });
    const failed = await request(`${h.proxy}/v1/repositories/sensors/fail`, { headers: bearer(secret) });
    await failed.body.text();
    t.equal(failed.statusCode, 502);
    const next = await request(`${h.proxy}/v1/repositories/sensors/items`, { headers: bearer(secret) });
    await next.body.text();
    t.equal(next.statusCode, 200, 'the one slot is free again');
  });
}
