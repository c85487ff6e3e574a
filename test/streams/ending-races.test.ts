import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import t from 'tap';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { TokenRecord } from '../../src/tokens/record.js';
import { call } from '../helpers/admin-client.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { talk } from '../helpers/raw-talk.js';
import { waitFor } from '../helpers/wait-for.js';

// A stream ends when it must even when the ending races something else: a revoke while the
// token lookup or a re-check is reading, a client leaving a stalled upstream, a revoke of a
// close-delimited HTTP/1.0 download, a 101 arriving after shutdown began. STREAM takes `stream`
// through its WEBSOCKET entry in the default routes.
const STREAM = '/v1/repositories/sensors/stream';

// A store whose token reads take time, as a Redis round trip does: the record is read at once and
// handed back when the test opens the gate, so a revoke can land in between.
class SlowStore extends MemoryStore {
  holdId: string | undefined;
  gate: Promise<void> | undefined;
  reads = 0;
  override async getToken(id: string): Promise<TokenRecord | undefined> {
    const record = await super.getToken(id);
    if (id === this.holdId && this.gate !== undefined) {
      this.holdId = undefined;
      this.reads++;
      await this.gate;
    }
    return record;
  }
  hold(id: string): () => void {
    this.holdId = id;
    let open!: () => void;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    return () => {
      this.gate = undefined;
      open();
    };
  }
}
const slow = new SlowStore();
const racy = await startHarness({ store: slow });
t.teardown(() => racy.close());
const echo = new WebSocketServer({ noServer: true });
racy.upstream.server.on('upgrade', (req, socket, head) => echo.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data))));
// Not events.once: that rejects on an 'error' first, and a cut handshake is one.
const closeOf = (ws: WebSocket) => new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => resolve([code, String(reason)])));

t.test("a revoke while the WebSocket's own token lookup is in flight ends it once it opens", async (t) => {
  const token = await racy.token(['stream']);
  const release = slow.hold(token.token.id);
  const reads = slow.reads;
  const ws = new WebSocket(`${racy.proxy.replace('http', 'ws')}${STREAM}`, { headers: bearer(token.secret) });
  ws.on('error', () => {});
  await waitFor(() => slow.reads > reads, { what: 'the lookup to read the still-active record' });
  t.equal((await call(racy, 'POST', `/v1/tokens/${token.token.id}/revoke`, racy.adminSecret)).status, 200);
  let opened = false;
  ws.on('open', () => (opened = true));
  const closed = closeOf(ws);
  release();
  // Cut before the upstream's 101 reached the client (a reset), or closed with 1008 after it:
  // either way at once, not at the TTL re-read.
  const [code, reason] = await closed;
  t.ok((code === 1006 && !opened) || (code === 1008 && reason === 'token revoked'), `closed with ${code} ${reason}`);
});

t.test('a revoke while a re-check of an open WebSocket is reading is not lost', async (t) => {
  const token = await racy.token(['stream']);
  const ws = new WebSocket(`${racy.proxy.replace('http', 'ws')}${STREAM}`, { headers: bearer(token.secret) });
  await once(ws, 'open');
  const closed = closeOf(ws);
  const release = slow.hold(token.token.id);
  const reads = slow.reads;
  racy.clock.advance(31_000); // the TTL re-read begins, and its read is slow
  await waitFor(() => slow.reads > reads, { what: 'the re-check to read' });
  t.equal((await call(racy, 'POST', `/v1/tokens/${token.token.id}/revoke`, racy.adminSecret)).status, 200);
  release();
  t.same(await closed, [1008, 'token revoked']);
});

t.test('a client that leaves while a stalled upstream is still owed bytes does not keep the tunnel', async (t) => {
  const h = await startHarness({});
  const upstreams: Duplex[] = [];
  t.teardown(() => {
    for (const socket of upstreams) socket.destroy(); // paused: it would never see Tollgate's close
    return h.close();
  });
  const wss = new WebSocketServer({ noServer: true });
  h.upstream.server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, () => {
      upstreams.push(socket);
      socket.pause();
    }),
  );
  const token = await h.token(['stream']);
  const ws = new WebSocket(`${h.proxy.replace('http', 'ws')}${STREAM}`, { headers: bearer(token.secret) });
  await once(ws, 'open');
  for (let i = 0; i < 16; i++) ws.send(Buffer.alloc(1024 * 1024, 1));
  await waitFor(() => ws.bufferedAmount < 16 * 1024 * 1024, { what: 'some bytes to leave the client' });
  ws.terminate();
  const live = async () => /^tollgate_live_exchanges\{protocol="websocket"\} (\S+)$/m.exec(await (await request(`${h.admin}/metrics`)).body.text())?.[1];
  // Tollgate sees the client leave at once unless it had already paused reading the client (the
  // upstream reads nothing): TCP then delivers the client's close after bytes Tollgate does not
  // read, and the idle timeout ends that connection (docs/streams-and-protocols.md). The fake
  // clock stands in for that wait; the upstream side, still owed bytes, must close either way.
  await waitFor(
    async () => {
      h.clock.advance(h.config.proxy.timeouts.idle);
      return (await live()) === '0';
    },
    { what: 'the WebSocket to stop counting as live (its upstream socket closed)', timeoutMs: 15_000, everyMs: 250 },
  );
  t.pass('the exchange ended');
});

t.test('a revoke cuts an HTTP/1.0 close-delimited download with a reset, not a clean end', async (t) => {
  const h = await startHarness({
    upstream: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    },
  });
  t.teardown(() => h.close());
  const token = await h.token(['query']);
  const c = talk(h.tollgate.proxyPort, `GET /v1/repositories/sensors/events HTTP/1.0\r\nauthorization: Bearer ${token.secret}\r\n\r\n`);
  await waitFor(() => c.text().includes('first'), { what: 'the first event' });
  await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret);
  await c.closed;
  t.equal(c.how(), 'ECONNRESET', 'the client can tell the body was cut');
});

t.test('an upgrade whose 101 arrives after shutdown began is closed with 1001 at once', async (t) => {
  const h = await startHarness({});
  const wss = new WebSocketServer({ noServer: true });
  let reached!: () => void;
  const atUpstream = new Promise<void>((resolve) => (reached = resolve));
  let answer!: () => void;
  const mayAnswer = new Promise<void>((resolve) => (answer = resolve));
  h.upstream.server.on('upgrade', (req, socket, head) => {
    reached();
    void mayAnswer.then(() => wss.handleUpgrade(req, socket, head, () => {}));
  });
  const token = await h.token(['stream']);
  const ws = new WebSocket(`${h.proxy.replace('http', 'ws')}${STREAM}`, { headers: bearer(token.secret) });
  const closed = closeOf(ws);
  await atUpstream;
  const shutdown = h.tollgate.shutdown(60_000);
  answer();
  t.same(await closed, [1001, 'server shutting down']);
  await shutdown;
  await h.upstream.close();
});
