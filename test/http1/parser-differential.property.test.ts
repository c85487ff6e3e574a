import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Server } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { refusal } from '../../src/auth/verdict.js';
import { ClientConnection, type ConnectionHost } from '../../src/http1/client-connection.js';
import { Exchange } from '../../src/proxy/exchange.js';
import type { UpstreamConnection } from '../../src/proxy/upstream-connection.js';
import { NO_TRACING } from '../../src/tracing/tracing.js';

// Differential test of the data plane's HTTP/1 front (issue #14): for generated request bytes,
// split at random points and pipelined, Tollgate's ClientConnection accepts exactly what
// node:http's server accepts, and what it would forward (method, target, header list, body
// bytes) equals what node:http parsed. node:http runs here as the oracle.
//
// Left out of the generator on purpose: Upgrade/CONNECT (node:http hands those to an 'upgrade'
// listener; the data plane has its own rules for them), HTTP/1.1 without Host (node:http
// refuses it after parsing, the data plane in its pipeline: both 400, tested elsewhere) and
// Expect (both answer 417 to anything but 100-continue; what follows a refused upload differs
// on purpose: Tollgate closes when the body was not read, tested in data-plane-rules.test.ts).

interface Parsed {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
  /** The whole request was read (its body ended as framed). */
  complete: boolean;
}
interface Outcome {
  requests: Parsed[];
  refused: boolean;
  closing?: boolean;
  /** node:http's responses not yet finished. */
  inflight?: number;
  /** Set when node:http found a fault: the socket to close once the answers ahead are out. */
  fault?: import('node:net').Socket;
  /** The server's side of the connection, to see how many bytes it has read. */
  socket?: import('node:net').Socket;
}

/** node:http: every request it emits, and whether it ended the connection with a parse error. */
async function oracle(): Promise<{ server: Server; port: number; results: Map<number, Outcome> }> {
  const results = new Map<number, Outcome>();
  const server = createHttpServer((req: IncomingMessage, res) => {
    const outcome = results.get(req.socket.remotePort!)!;
    // node:http parses a pipelined request even when the response before it will close the
    // connection, and never answers it: such a request (or fault) was not accepted.
    if (outcome.closing) return;
    const entry: Parsed = { method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body: '', complete: false };
    const index = outcome.requests.push(entry) - 1;
    req.setEncoding('latin1');
    req.on('data', (chunk: string) => (entry.body += chunk));
    req.on('end', () => {
      // Only a request read whole is answered; one whose body failed never is.
      entry.complete = true;
      outcome.inflight = (outcome.inflight ?? 0) + 1;
      // An explicit length: without one node:http closes after an HTTP/1.0 response to mark its end.
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
    res.on('finish', () => {
      outcome.inflight!--;
      // `_last`: node:http's own mark that the connection closes after this response.
      if (!res.shouldKeepAlive || (res as unknown as { _last: boolean })._last) {
        outcome.closing = true;
        outcome.requests.length = index + 1;
      }
      if (outcome.fault !== undefined && outcome.inflight === 0) settleFault(outcome);
    });
  });
  /** A parse fault counts unless a response ahead of it closed the connection first. */
  const settleFault = (outcome: Outcome) => {
    outcome.refused = !outcome.closing;
    outcome.fault!.destroy();
  };
  server.on('connection', (socket) => results.set(socket.remotePort!, { requests: [], refused: false, socket }));
  server.on('clientError', (_err, socket: import('node:net').Socket) => {
    const outcome = results.get(socket.remotePort!);
    if (outcome === undefined) return void socket.destroy();
    // Let the answers ahead of the fault be written first, as a client would see them.
    outcome.fault = socket;
    if (!outcome.inflight) settleFault(outcome);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, results };
}

/**
 * ClientConnection with a host that records each judged head and "forwards" it to an upstream
 * stand-in that captures the body bytes and answers 200 when the request is whole.
 */
async function subject(): Promise<{ server: Server; port: number; results: Map<number, Outcome> }> {
  const results = new Map<number, Outcome>();
  const server = createNetServer((socket) => {
    const outcome: Outcome = { requests: [], refused: false, socket };
    results.set(socket.remotePort!, outcome);
    const write = socket.write.bind(socket);
    socket.write = ((data: string | Buffer, ...rest: never[]) => {
      if (/^HTTP\/1\.1 (400|431) /.test(typeof data === 'string' ? data : data.toString('latin1', 0, 16))) outcome.refused = true;
      return write(data, ...rest);
    }) as typeof socket.write;
    const end = socket.end.bind(socket);
    socket.end = ((data?: unknown, ...rest: never[]) => {
      if (typeof data === 'string' && /^HTTP\/1\.1 (400|431) /.test(data)) outcome.refused = true;
      return end(data as string, ...rest);
    }) as typeof socket.end;
    const host: ConnectionHost = {
      draining: false,
      // Nothing counted or logged: only what the parser hands over is under test.
      open: (connection, head) =>
        new Exchange(connection, head, {
          live: undefined,
          hooks: undefined,
          tracing: NO_TRACING,
          now: () => Date.now(),
          started() {},
          ended() {},
          upstreamFailed() {},
          exchangeCut() {},
        }),
      handle(opened) {
        const exchange = opened as Exchange;
        if (exchange.expectation === 'unsupported') {
          // As the pipeline does (Expect is not generated; kept so a stray one is not recorded).
          exchange.refused(refusal('expectation_failed'));
          return;
        }
        const entry: Parsed = { method: exchange.method, url: exchange.url, rawHeaders: [...exchange.rawHeaders], body: '', complete: false };
        outcome.requests.push(entry);
        exchange.requestId = 'r';
        exchange.requestHead = '';
        const upstream = {
          write(data: Buffer | string) {
            if (typeof data !== 'string') entry.body += data.toString('latin1');
            return true;
          },
          writeChunk(data: Buffer) {
            entry.body += data.toString('latin1');
            return true;
          },
          requestSent() {
            entry.complete = true;
            queueMicrotask(() => {
              exchange.responseHead(200, '', ['content-length', '0'], 'none');
              exchange.responseEnd(undefined);
            });
          },
          abort() {},
          // Every body byte is taken at once: nothing of the client's read is held.
          isFlushed: () => true,
          cork() {},
          uncork() {},
          pause() {},
          resumeReading() {},
        };
        exchange.forwarded();
        exchange.upstreamStarted(upstream as unknown as UpstreamConnection);
      },
      closed() {},
    };
    new ClientConnection(socket, host, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, results };
}

/**
 * Writes the pieces one by one, each in its own event-loop turn, then waits until the server has
 * read every byte (or closed) and what it recorded has stopped changing: the parse of what it
 * read is synchronous, and the only later events are request ends and responses.
 */
function send(port: number, pieces: Buffer[], results: Map<number, Outcome>): Promise<Outcome> {
  const total = pieces.reduce((n, p) => n + p.length, 0);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => {});
    let answers = 0;
    socket.on('data', (chunk: Buffer) => (answers += chunk.toString('latin1').match(/HTTP\/1\.1 [2-5]\d\d /g)?.length ?? 0));
    socket.on('connect', async () => {
      const localPort = socket.localPort!;
      for (const piece of pieces) {
        if (socket.destroyed) break;
        socket.write(piece);
        await new Promise((r) => setImmediate(r));
      }
      let last = '';
      let steady = 0;
      for (;;) {
        await new Promise((r) => setTimeout(r, 5));
        const outcome = results.get(localPort);
        if (outcome === undefined) continue;
        const now = JSON.stringify({ r: outcome.requests, f: outcome.refused });
        steady = now === last ? steady + 1 : 0;
        last = now;
        const server = outcome.socket!;
        // Everything sent was read and handed to the parser (nothing buffered in a paused
        // stream), and every request read whole has its answer: nothing more can happen.
        const allRead =
          closed ||
          server.destroyed ||
          (server.bytesRead >= total && server.readableLength === 0 && answers >= outcome.requests.filter((r) => r.complete).length);
        if (allRead && steady >= 2) {
          socket.destroy();
          return resolve(outcome);
        }
      }
    });
  });
}

// Every byte class a request head can hold.
const byteClass = fc.constantFrom(
  'a',
  'Z',
  '0',
  '-',
  '_',
  '.',
  '~',
  '%',
  '/',
  '?',
  '#',
  '&',
  '=',
  ':',
  ';',
  ',',
  '"',
  "'",
  '(',
  ')',
  '@',
  '[',
  ']',
  '\\',
  ' ',
  '\t',
  '\x00',
  '\x01',
  '\x7f',
  '\x80',
  '\xe9',
  '\xff',
  '\r',
  '\n',
);
const text = (max: number) =>
  fc
    .array(fc.oneof({ weight: 12, arbitrary: fc.constantFrom('a', 'b', 'x', '1', '-') }, { weight: 1, arbitrary: byteClass }), { maxLength: max })
    .map((c) => c.join(''));
const headerName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('Accept', 'X-Trace', 'x-request-id', 'User-Agent', 'Cookie', 'Via', 'Content-Type') },
  { weight: 1, arbitrary: text(8) },
);
const field = fc
  .tuple(headerName, text(12), fc.oneof({ weight: 12, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r\n ') }))
  .map(([name, value, eol]) => `${name}: ${value}${eol}`);
const framing = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ fields: '', body: '' }) },
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }).map((body) => ({ fields: `Content-Length: ${body.length}\r\n`, body })) },
  {
    weight: 3,
    arbitrary: fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 3 }).map((chunks) => ({
      fields: 'Transfer-Encoding: chunked\r\n',
      body: `${chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('')}0\r\n\r\n`,
    })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      { fields: 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', body: '0\r\n\r\n' },
      { fields: 'Content-Length: 2\r\nContent-Length: 3\r\n', body: 'abc' },
      { fields: 'Content-Length: 3\r\nContent-Length: 3\r\n', body: 'abc' },
      { fields: 'Content-Length: -1\r\n', body: '' },
      { fields: 'Content-Length: 1 2\r\n', body: '' },
      { fields: 'Transfer-Encoding: gzip\r\n', body: 'abcd' },
      { fields: 'Transfer-Encoding: chunked, identity\r\n', body: '0\r\n\r\n' },
      { fields: 'Transfer-Encoding: gzip, chunked\r\n', body: '1\r\na\r\n0\r\n\r\n' },
      { fields: 'Transfer-Encoding: chunked\r\n', body: '1;ext=1\r\na\r\n0\r\n\r\n' },
      { fields: 'Transfer-Encoding: chunked\r\n', body: 'zz\r\na\r\n0\r\n\r\n' },
      { fields: 'Transfer-Encoding: chunked\r\n', body: '1\r\nab\r\n0\r\n\r\n' },
      { fields: 'Transfer-Encoding: chunked\r\n', body: '0\r\nX-Trailer: 1\r\n\r\n' },
    ),
  },
);
const request = fc
  .record({
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS') },
      { weight: 1, arbitrary: fc.constantFrom('get', 'FOO', 'G ET', '') },
    ),
    target: fc.oneof({ weight: 4, arbitrary: text(16).map((p) => `/${p}`) }, { weight: 1, arbitrary: fc.constantFrom('*', 'http://h/x', '') }),
    version: fc.oneof(
      { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
      { weight: 2, arbitrary: fc.constant('HTTP/1.0') },
      { weight: 1, arbitrary: fc.constantFrom('HTTP/2.0', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 ') },
    ),
    fields: fc.array(field, { maxLength: 4 }),
    framing,
    bareLf: fc
      .boolean()
      .chain((b) => (b ? fc.boolean() : fc.constant(false)))
      .chain((b) => (b ? fc.boolean() : fc.constant(false))),
  })
  .map((r) => {
    const eol = r.bareLf ? '\n' : '\r\n';
    // Host always (see above); Connection keep-alive so an HTTP/1.0 request lets the next one follow.
    const head = `${r.method} ${r.target} ${r.version}${eol}Host: h${eol}Connection: keep-alive${eol}${r.fields.join('')}${r.framing.fields}\r\n`;
    // Tollgate closes, on purpose, after an HTTP/1.0 request with Transfer-Encoding (RFC 9112
    // §6.1; node:http keeps the connection) and after a version other than 1.x: nothing sent
    // behind such a request is compared (example tests cover the close).
    const closes = (r.version === 'HTTP/1.0' && r.framing.fields.includes('Transfer-Encoding')) || r.version === 'HTTP/2.0';
    return { bytes: head + r.framing.body, closes };
  });
const exchangeBytes = fc.tuple(fc.array(request, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 4 })).map(([requests, cuts]) => {
  const closing = requests.findIndex((r) => r.closes);
  const sent = closing === -1 ? requests : requests.slice(0, closing + 1);
  const bytes = Buffer.from(sent.map((r) => r.bytes).join(''), 'latin1');
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const at of points) {
    if (at > from) pieces.push(bytes.subarray(from, at));
    from = Math.max(from, at);
  }
  pieces.push(bytes.subarray(from));
  return pieces.filter((p) => p.length > 0);
});

const node = await oracle();
const ours = await subject();
t.teardown(() => {
  node.server.close();
  ours.server.close();
});

t.test('the llhttp front accepts and parses exactly what node:http does', async (t) => {
  let compared = 0;
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(exchangeBytes, async (pieces) => {
      const [expected, actual] = await Promise.all([send(node.port, pieces, node.results), send(ours.port, pieces, ours.results)]);
      compared++;
      if (process.env.TG_DEBUG) console.error(JSON.stringify(expected).slice(0, 200), '\n   ', JSON.stringify(actual).slice(0, 200));
      if (!expected.refused) accepted++;
      const where = JSON.stringify(Buffer.concat(pieces).toString('latin1'));
      if (expected.refused !== actual.refused)
        throw new Error(`node:http ${expected.refused ? 'refused' : 'accepted'}, Tollgate ${actual.refused ? 'refused' : 'accepted'}: ${where}`);
      // Only requests read whole count: node:http emits a head before it finds its body's framing
      // bad (a bad chunk size, a Transfer-Encoding other than chunked); Tollgate never judges a
      // head whose framing failed in the same read, which is stricter on purpose.
      const whole = (o: Outcome) => JSON.stringify(o.requests.filter((r) => r.complete));
      if (whole(expected) !== whole(actual)) {
        throw new Error(`parsed differently:\n node:http ${whole(expected)}\n Tollgate  ${whole(actual)}\n for ${where}`);
      }
    }),
    {
      numRuns: Number(process.env.TG_PROPERTY_RUNS ?? 300),
      ...(process.env.TG_PROPERTY_SEED ? { seed: Number(process.env.TG_PROPERTY_SEED), path: process.env.TG_PROPERTY_PATH } : {}),
    },
  );
  t.ok(compared >= 300 || process.env.TG_PROPERTY_RUNS !== undefined || process.env.TG_PROPERTY_SEED !== undefined, `${compared} byte streams compared`);
  t.ok(accepted > compared / 10 && accepted < compared, `${accepted} accepted by both, the rest refused by both: the generator reaches both sides`);
});
