import { type ClientHttp2Session, connect, constants, type IncomingHttpHeaders } from 'node:http2';
import t from 'tap';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// HTTP/2 streams forwarded to the HTTP/1.1 upstream: what the client sees when the upstream
// fails, when the client resets, trailers, and the metrics they land in.
const h = await startHarness({
  upstream: (req, res, record) => {
    req.resume();
    // A response the upstream could not finish: its socket went first.
    res.on('close', () => (record.aborted ||= !res.writableFinished));
    const url = req.url!;
    if (url.endsWith('/cut')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
      res.write('part of it');
      setImmediate(() => res.socket!.destroy());
      return;
    }
    if (url.endsWith('/hang')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('started');
      return;
    }
    if (url.endsWith('/two-types')) {
      res.writeHead(200, ['content-type', 'text/plain', 'content-type', 'text/html']);
      res.end('ambiguous');
      return;
    }
    if (url.endsWith('/two-etags')) {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'etag' });
      res.write('body');
      res.addTrailers([
        ['etag', '"a"'],
        ['etag', '"b"'],
      ]);
      res.end();
      return;
    }
    if (url.endsWith('/small')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.end('small body');
      return;
    }
    if (url.endsWith('/in-parts')) {
      // Head and first part now, the rest later: the response is still flowing when a read ends.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      setTimeout(() => res.end('second'), 20);
      return;
    }
    if (url.endsWith('/trailers')) {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
      return;
    }
    req.on('end', () => {
      res.writeHead(204, { connection: 'keep-alive, x-hop', 'x-hop': 'dropped', 'keep-alive': 'timeout=5', 'x-kept': 'yes' });
      res.end();
    });
  },
});
t.teardown(() => h.close());
const token = await h.token(['query']);
let session: ClientHttp2Session;
t.beforeEach(() => {
  session = connect(h.proxy);
  session.on('error', () => {});
});
t.afterEach(() => session.close());

interface Outcome {
  headers: IncomingHttpHeaders;
  body: string;
  trailers: IncomingHttpHeaders | undefined;
  rstCode: number;
}

function get(path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const stream = session.request({ ':path': path, ...bearer(token.secret) });
    const out: Outcome = { headers: {}, body: '', trailers: undefined, rstCode: -1 };
    stream.on('response', (headers) => (out.headers = headers));
    stream.on('data', (chunk: Buffer) => (out.body += chunk.toString()));
    stream.on('trailers', (trailers) => (out.trailers = trailers));
    stream.on('error', () => {});
    stream.on('close', () => {
      out.rstCode = stream.rstCode ?? -1;
      resolve(out);
    });
  });
}

t.test('hop-by-hop fields of the upstream response are dropped; the rest passes', async (t) => {
  const res = await get('/v1/repositories/sensors/plain');
  t.equal(res.headers[':status'], 204);
  t.equal(res.headers['x-kept'], 'yes');
  t.equal(res.headers['x-hop'], undefined, 'a field named in Connection is dropped');
  t.equal(res.headers['keep-alive'], undefined);
  t.equal(res.headers.connection, undefined);
  t.ok(res.headers['x-request-id']);
  t.equal(res.rstCode, constants.NGHTTP2_NO_ERROR);
});

t.test('an upstream that fails mid-body resets the stream: a cut body never looks whole', async (t) => {
  const res = await get('/v1/repositories/sensors/cut');
  t.equal(res.headers[':status'], 200);
  t.equal(res.body, 'part of it');
  t.equal(res.rstCode, constants.NGHTTP2_INTERNAL_ERROR);
});

t.test('a response that comes in one upstream read arrives whole and ends cleanly', async (t) => {
  const res = await get('/v1/repositories/sensors/small');
  t.equal(res.headers[':status'], 200);
  t.equal(res.headers['content-length'], '10');
  t.ok(res.headers['x-request-id'], 'the head is ours, held until the read ended');
  t.equal(res.body, 'small body');
  t.equal(res.trailers, undefined);
  t.equal(res.rstCode, constants.NGHTTP2_NO_ERROR);
});

t.test('a response still flowing when a read ends arrives whole and ends cleanly', async (t) => {
  const res = await get('/v1/repositories/sensors/in-parts');
  t.equal(res.headers[':status'], 200);
  t.equal(res.body, 'first second');
  t.equal(res.rstCode, constants.NGHTTP2_NO_ERROR);
});

t.test('HTTP/1.1 trailers reach the HTTP/2 client as trailers', async (t) => {
  const res = await get('/v1/repositories/sensors/trailers');
  t.equal(res.body, 'body');
  t.equal(res.trailers?.['x-checksum'], 'abc123');
  t.equal(res.headers.trailer, undefined, 'the Trailer field itself is connection-specific');
});

t.test('a client RST_STREAM aborts the upstream request', async (t) => {
  const stream = session.request({ ':path': '/v1/repositories/sensors/hang', ...bearer(token.secret) });
  stream.on('error', () => {});
  await new Promise<void>((resolve) => stream.once('data', () => resolve()));
  const seen = h.upstream.received.at(-1)!;
  t.equal(seen.aborted, false);
  stream.close(constants.NGHTTP2_CANCEL);
  await waitFor(() => seen.aborted, { what: 'the upstream request to be aborted' });
  t.equal(seen.aborted, true);
});

t.test('an unreachable upstream gives the same 502 problem as on HTTP/1.1', async (t) => {
  const down = await startHarness({ config: { proxy: { upstream: 'http://127.0.0.1:1' } } });
  t.teardown(() => down.close());
  const other = connect(down.proxy);
  t.teardown(() => other.close());
  const secret = (await down.token(['query'])).secret;
  const res = await new Promise<{ status: number; body: string }>((resolve) => {
    const stream = other.request({ ':path': '/v1/repositories/sensors/x', ...bearer(secret) });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => (body += chunk));
    stream.on('end', () => resolve({ status, body }));
  });
  t.equal(res.status, 502);
  t.match(JSON.parse(res.body), { type: '/problems/upstream-unreachable' });
});

t.test('HTTP/2 requests count in requests_total with the HTTP/1.1 ones', async (t) => {
  const count = async (outcome: string) => {
    const text = await (await fetch(`${h.admin}/metrics`)).text();
    return Number(
      new RegExp(`^tollgate_requests_total\\{right="(?:query|none)",outcome="${outcome}",credential="(?:token|none)"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
    );
  };
  const allowed = await count('allowed');
  const refused = await count('unauthenticated');
  await get('/v1/repositories/sensors/plain');
  const stream = session.request({ ':path': '/v1/repositories/sensors/plain' });
  stream.resume();
  await new Promise((resolve) => stream.on('close', resolve));
  t.equal(await count('allowed'), allowed + 1);
  t.equal(await count('unauthenticated'), refused + 1);
  const text = await (await fetch(`${h.admin}/metrics`)).text();
  t.notMatch(text, /sensors\/plain|tollgate\.test/, 'no label holds a path or method');
});

t.test('a client that stops reading holds the upstream back (flow control through to its socket)', async (t) => {
  const TOTAL = 64 * 1024 * 1024;
  let sent = 0;
  let isWaiting = false;
  const big = await startHarness({
    upstream: (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': String(TOTAL) });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (sent < TOTAL) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            isWaiting = true;
            return void res.once('drain', () => {
              isWaiting = false;
              pump();
            });
          }
        }
        res.end();
      };
      pump();
    },
  });
  t.teardown(() => big.close());
  const secret = (await big.token(['query'])).secret;
  const other = connect(big.proxy);
  t.teardown(() => other.close());
  const stream = other.request({ ':path': '/v1/repositories/sensors/big', ...bearer(secret) });
  let received = 0;
  let hasPaused = false;
  stream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received >= 1024 * 1024 && !hasPaused) {
      hasPaused = true;
      stream.pause();
    }
  });
  // Held back: the upstream waits for 'drain' and has sent nothing more for 20 polls in a row.
  let last = -1;
  let still = 0;
  await waitFor(
    () => {
      still = isWaiting && sent === last ? still + 1 : 0;
      last = sent;
      return still >= 20;
    },
    { what: 'the upstream to be held back' },
  );
  t.ok(sent < TOTAL / 2, `the upstream was held back after ${(sent / 1024 / 1024).toFixed(1)} MiB of 64`);
  const ended = new Promise<void>((resolve) => stream.on('end', () => resolve()));
  stream.resume();
  await ended;
  t.equal(received, TOTAL, 'all of it arrives once the client reads again');
});

t.test('a refused upload is answered and the rest of its body is stopped with RST_STREAM NO_ERROR', async (t) => {
  const before = h.upstream.received.length;
  const stream = session.request({ ':path': '/v1/repositories/sensors/up', ':method': 'POST' });
  stream.on('error', () => {});
  let status = 0;
  let body = '';
  stream.on('response', (headers) => (status = Number(headers[':status'])));
  stream.on('data', (chunk: Buffer) => (body += chunk));
  stream.write(Buffer.alloc(1024, 1));
  const rstCode = await new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode!)));
  t.equal(status, 401);
  t.match(JSON.parse(body), { type: '/problems/missing-token' });
  t.equal(rstCode, constants.NGHTTP2_NO_ERROR);
  t.equal(h.upstream.received.length, before);
});

t.test('expect: 100-continue gets its 100 only once the token is accepted', async (t) => {
  const upload = await startHarness();
  t.teardown(() => upload.close());
  const secret = (await upload.token(['stream'])).secret;
  const other = connect(upload.proxy);
  t.teardown(() => other.close());
  const send = (headers: Record<string, string>) =>
    new Promise<{ interim: boolean; status: number }>((resolve) => {
      const stream = other.request({ ':path': '/v1/repositories/sensors/up', ':method': 'POST', expect: '100-continue', ...headers });
      let interim = false;
      let status = 0;
      stream.on('error', () => {});
      stream.on('continue', () => {
        interim = true;
        stream.end(Buffer.alloc(1000));
      });
      stream.on('response', (response) => (status = Number(response[':status'])));
      stream.resume();
      stream.on('close', () => resolve({ interim, status }));
    });
  const allowed = await send(bearer(secret));
  t.same(allowed, { interim: true, status: 200 });
  t.equal(upload.upstream.received.at(-1)!.bytes, 1000);
  const refused = await send({});
  t.same(refused, { interim: false, status: 401 });
});

t.test('an upstream answer HTTP/2 cannot carry (two content-types) is a 502, not a crash', async (t) => {
  const res = await get('/v1/repositories/sensors/two-types');
  t.equal(res.headers[':status'], 502);
  t.match(JSON.parse(res.body), { type: '/problems/upstream-error' });
  const after = await get('/v1/repositories/sensors/plain');
  t.equal(after.headers[':status'], 204, 'and the next request on the connection is served');
});

t.test('trailers HTTP/2 cannot carry cut the stream rather than the process', async (t) => {
  const res = await get('/v1/repositories/sensors/two-etags');
  t.equal(res.body, 'body');
  t.equal(res.rstCode, constants.NGHTTP2_INTERNAL_ERROR, 'the end is a reset: the client knows the trailers were lost');
  const after = await get('/v1/repositories/sensors/plain');
  t.equal(after.headers[':status'], 204);
});
