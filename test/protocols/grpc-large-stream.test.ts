import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { bearer, startHarness } from '../helpers/harness.js';
import { echoClient, grpc, startEchoServer, type Note } from '../helpers/grpc.js';

// A 256 MiB client stream through Tollgate with backpressure all the way: the client waits for
// 'drain', Tollgate holds the client stream while the upstream stream is full, and HTTP/2 flow
// control holds the client back. Client, Tollgate and upstream share this process, so its RSS
// bounds what Tollgate buffers; without backpressure the whole stream would pile up here.
const TOTAL = 256 * 1024 * 1024;
const NOTE = 1024 * 1024;
const BOUND = 64 * 1024 * 1024;

// Three parties each allocate a buffer per 1 MiB message; V8 frees them when it gets round to
// it. A collection before each sample measures what is held, not what is waiting to be swept.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const rss = () => {
  gc();
  const usage = process.memoryUsage();
  held = Math.max(held, usage.heapUsed + usage.external);
  return usage.rss;
};
/** Peak of what JavaScript holds (heap and buffers) after a collection: what a leak would raise. */
let held = 0;

const echo = await startEchoServer();
const h = await startHarness({ config: { proxy: { grpcUpstream: `h2c://127.0.0.1:${echo.port}` }, routes: [{ path: '/tollgate.test.Echo/**' }] } });
t.teardown(async () => {
  await h.close();
  await echo.close();
});
const token = await h.token(['stream']);
const client = echoClient(`127.0.0.1:${h.tollgate.proxyPort}`);
t.teardown(() => client.close());

t.test('a 256 MiB client stream passes whole with flat memory', async (t) => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', bearer(token.secret).authorization);
  let baseline = 0;
  let peak = 0;
  let heldBaseline = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 100);
  t.teardown(() => clearInterval(sampler));
  const data = Buffer.alloc(NOTE, 0x5a);
  const reply = await new Promise<Note>((resolve, reject) => {
    const call = (client.Upload as unknown as (m: grpc.Metadata, cb: grpc.requestCallback<Note>) => grpc.ClientWritableStream<Note>)(metadata, (err, note) => (err ? reject(err) : resolve(note!)));
    let sent = 0;
    const pump = () => {
      while (sent < TOTAL) {
        sent += NOTE;
        // Measured from after the first 16 MiB: the connections and their windows are warm.
        if (sent === 16 * NOTE) {
          baseline = rss();
          peak = baseline;
          const usage = process.memoryUsage();
          heldBaseline = usage.heapUsed + usage.external;
          held = heldBaseline;
        }
        if (!call.write({ data })) return void call.once('drain', pump);
      }
      call.end();
    };
    pump();
  });
  clearInterval(sampler);
  peak = Math.max(peak, rss());
  t.equal(Number(reply.count), TOTAL, 'every byte reached the upstream');
  t.equal(reply.text, `notes=${TOTAL / NOTE}`);
  const growth = peak - baseline;
  t.comment(`RSS growth during the stream: ${(growth / 1024 / 1024).toFixed(1)} MiB`);
  t.ok(growth < BOUND, `RSS grew ${(growth / 1024 / 1024).toFixed(1)} MiB (< 64 MiB)`);
  const heldGrowth = held - heldBaseline;
  // Most of what is held is grpc-js's own: its client and server streams are object-mode with a
  // high-water mark of 16 messages (16 MiB each here). Measured: about 50 MiB for 256 MiB and
  // for 768 MiB alike, so it does not grow with the stream.
  t.ok(heldGrowth < BOUND, `heap and buffers held grew ${(heldGrowth / 1024 / 1024).toFixed(1)} MiB (< 64 MiB)`);
});
