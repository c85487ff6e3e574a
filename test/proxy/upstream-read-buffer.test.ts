import { createHash } from 'node:crypto';
import t from 'tap';
import { Agent, request } from 'undici';
import { bearer, startHarness } from '../helpers/harness.js';

// A plain-TCP upstream socket reads into one buffer of the proxy's, reused for the next read
// while the client socket takes each piece at once, and left to the client's write queue when it
// does not. Each body below differs byte by byte, so a buffer reused while a write still held it
// would show as a wrong hash.
const MiB = 1 << 20;

/** `size` bytes no two MiB of which are alike: SHA-256 of a counter, block after block. */
function patterned(size: number, seed: string): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let at = 0, n = 0; at < size; at += 32, n++) createHash('sha256').update(`${seed}:${n}`).digest().copy(out, at);
  return out;
}

const sha = (data: Buffer | Buffer[]) =>
  createHash('sha256')
    .update(Array.isArray(data) ? Buffer.concat(data) : data)
    .digest('hex');
const body = patterned(48 * MiB, 'download');

const h = await startHarness({
  upstream: (req, res) => {
    req.resume();
    if (req.url?.endsWith('/small')) {
      const text = `answer to ${req.headers['x-n']}`;
      res.writeHead(200, { 'content-length': Buffer.byteLength(text) });
      return res.end(text);
    }
    // Written in pieces of odd sizes, so reads and writes fall on every boundary.
    const chunked = req.url?.endsWith('/chunked');
    res.writeHead(200, chunked ? {} : { 'content-length': body.length });
    let at = 0;
    const pump = () => {
      while (at < body.length) {
        const piece = body.subarray(at, Math.min(at + 100_003, body.length));
        at += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  },
});
t.teardown(() => h.close());
const token = await h.token(['query']);

/** Reads the body, stopping now and then so the proxy's writes to this client queue up. */
async function readSlowly(stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  let seen = 0;
  for await (const part of stream) {
    parts.push(part);
    seen += part.length;
    // Load shaping, not a wait for a condition: a reader slower than the upstream.
    if (seen % (4 * MiB) < part.length) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return parts;
}

for (const path of ['/v1/repositories/sensors/blob', '/v1/repositories/sensors/chunked']) {
  t.test(`a ${path.endsWith('chunked') ? 'chunked' : 'content-length'} download reaches a slow client byte for byte`, async (t) => {
    const res = await request(`${h.proxy}${path}`, { headers: bearer(token.secret) });
    t.equal(res.statusCode, 200);
    const parts = await readSlowly(res.body);
    t.equal(
      parts.reduce((n, p) => n + p.length, 0),
      body.length,
    );
    t.equal(sha(parts), sha(body));
  });

  t.test(`a ${path.endsWith('chunked') ? 'chunked' : 'content-length'} download reaches a fast client byte for byte`, async (t) => {
    const res = await request(`${h.proxy}${path}`, { headers: bearer(token.secret) });
    const parts: Buffer[] = [];
    for await (const part of res.body) parts.push(part);
    t.equal(sha(parts), sha(body));
  });
}

t.test('small answers on one keep-alive connection each carry their own bytes', async (t) => {
  const agent = new Agent({ connections: 1, pipelining: 8 });
  t.teardown(() => agent.close());
  const answers = await Promise.all(
    Array.from({ length: 200 }, async (_, n) => {
      const res = await request(`${h.proxy}/v1/repositories/sensors/small`, { dispatcher: agent, headers: { ...bearer(token.secret), 'x-n': String(n) } });
      return res.body.text();
    }),
  );
  t.same(
    answers,
    Array.from({ length: 200 }, (_, n) => `answer to ${n}`),
  );
});
