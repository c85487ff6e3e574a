import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect, createServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import t from 'tap';
import { Agent, request } from 'undici';
import { readIntoOwnBuffer } from '../../src/http1/accepted-reads.js';
import { bearer, startHarness } from '../helpers/harness.js';

// A plain-TCP client socket that uploads in bulk reads into one buffer of the proxy's from then
// on, reused for the next read while the upstream socket takes each piece at once, and left to the upstream's write queue (or to a
// body held back while the token is looked up) when it does not. Each body below differs byte
// by byte, so a buffer reused while something still held it would show as a wrong hash.
const MiB = 1 << 20;

/** `size` bytes no two MiB of which are alike: SHA-256 of a counter, block after block. */
function patterned(size: number, seed: string): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let at = 0, n = 0; at < size; at += 32, n++) createHash('sha256').update(`${seed}:${n}`).digest().copy(out, at);
  return out;
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const body = patterned(32 * MiB, 'upload');

t.test('an accepted socket reads into the buffer it is given, on this Node', async (t) => {
  const ours = Buffer.alloc(4096);
  const reads: { nread: number; same: boolean; text: string }[] = [];
  const server = createServer({ pauseOnConnect: true });
  const got = new Promise<void>((resolve) => {
    server.on('connection', (socket) => {
      const taken = readIntoOwnBuffer(
        socket,
        () => ours,
        (nread, buffer) => {
          reads.push({ nread, same: buffer === ours, text: buffer.toString('latin1', 0, nread) });
          resolve();
          return true;
        },
      );
      t.equal(taken, true, 'Node 24 keeps onread where accepted-reads.ts looks for it');
      socket.on('data', () => t.fail('no data event while the reads land in our buffer'));
      socket.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1', () => client.write('hello'));
  await got;
  client.destroy();
  server.close();
  t.same(reads, [{ nread: 5, same: true, text: 'hello' }]);
});

const h = await startHarness({
  upstream: async (req, res) => {
    // A slow reader: the proxy's writes to it queue up, so a reused buffer would show.
    const parts: Buffer[] = [];
    let seen = 0;
    for await (const part of req) {
      parts.push(part as Buffer);
      seen += (part as Buffer).length;
      // Load shaping, not a wait for a condition: an upstream slower than the client.
      if (req.url?.endsWith('?pace=slow') && seen % (4 * MiB) < (part as Buffer).length) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const text = `${seen} ${sha(Buffer.concat(parts))}`;
    res.writeHead(200, { 'content-length': Buffer.byteLength(text) });
    res.end(text);
  },
});
t.teardown(() => h.close());
const token = await h.token(['stream']);

/** The body in pieces of odd sizes, so reads and writes fall on every boundary. */
const pieces = () =>
  Readable.from(
    (function* () {
      for (let at = 0; at < body.length; at += 100_003) yield body.subarray(at, Math.min(at + 100_003, body.length));
    })(),
  );

for (const pace of ['slow', 'fast']) {
  for (const framing of ['content-length', 'chunked']) {
    t.test(`a ${framing} upload reaches a ${pace} upstream byte for byte`, async (t) => {
      const headers = { ...bearer(token.secret), ...(framing === 'content-length' ? { 'content-length': String(body.length) } : {}) };
      const res = await request(`${h.proxy}/v1/repositories/sensors/stream?pace=${pace}`, { method: 'POST', headers, body: pieces() });
      t.equal(res.statusCode, 200);
      t.equal(await res.body.text(), `${body.length} ${sha(body)}`);
    });
  }
}

t.test('small uploads pipelined on one connection each carry their own bytes', async (t) => {
  const agent = new Agent({ connections: 1, pipelining: 8 });
  t.teardown(() => agent.close());
  const texts = Array.from({ length: 100 }, (_, n) => `upload number ${n}`);
  const answers = await Promise.all(
    texts.map(async (text) => {
      const res = await request(`${h.proxy}/v1/repositories/sensors/stream`, { method: 'PUT', dispatcher: agent, headers: bearer(token.secret), body: text });
      return res.body.text();
    }),
  );
  t.same(
    answers,
    texts.map((text) => `${text.length} ${sha(Buffer.from(text))}`),
  );
});

t.test('the proxy port reads a bulk upload into its own buffer, not a new one per read', async (t) => {
  // Node publishes every socket a server accepts on `net.server.socket`. A socket that reads into
  // a buffer of ours emits no `data` once it has switched; one left on Node's reads emits every
  // byte (a new 64 KiB buffer per read, garbage at the upload's rate: the streaming peak).
  const proxyPort = Number(new URL(h.proxy).port);
  const emitted: { bytes: number }[] = [];
  const onAccept = (message: unknown) => {
    const socket = (message as { socket: Socket }).socket;
    if (socket.localPort !== proxyPort) return;
    const seen = { bytes: 0 };
    emitted.push(seen);
    socket.on('data', (chunk: Buffer) => {
      seen.bytes += chunk.length;
    });
  };
  subscribe('net.server.socket', onAccept);
  t.teardown(() => unsubscribe('net.server.socket', onAccept));
  const agent = new Agent({ connections: 1 });
  t.teardown(() => agent.close());
  const headers = { ...bearer(token.secret), 'content-length': String(body.length) };
  const res = await request(`${h.proxy}/v1/repositories/sensors/stream?pace=fast`, { method: 'POST', headers, body: pieces(), dispatcher: agent });
  t.equal(await res.body.text(), `${body.length} ${sha(body)}`, 'the upload arrived whole');
  t.equal(emitted.length, 1, 'one connection carried it');
  t.ok(emitted[0]!.bytes < 1 << 20, `at most the first reads came through Node's buffers (${emitted[0]!.bytes} of ${body.length} bytes)`);
});
