// The HTTP/2 floors: what node:http2 itself costs, so the HTTP/2 and gRPC rows can be read against
// the least a node:http2 program pays. No metrics, logs, ids or limits.
//   node bench/floor-h2.mjs echo PORT
//     a node:http2 server that answers every request with bench/upstream.mjs's small body: beside
//     bench/upstream.mjs (node:http) under the same h2load, it says what HTTP/2 costs per request
//     in Node before any proxying.
//   node bench/floor-h2.mjs relay H2C_UPSTREAM_URL PORT SECRET...
//     a node:http2 relay: the bearer's SHA-256 looked up in a Set, every other field passed on
//     (pseudo-headers, te, grpc metadata), one kept-alive HTTP/2 session upstream, bodies piped
//     both ways, trailers relayed; the gRPC row's floor.
import { createHash } from 'node:crypto';
import http2 from 'node:http2';

const [mode, ...args] = process.argv.slice(2);
const listen = (server, port) =>
  server.listen(Number(port), '127.0.0.1', function () {
    process.stdout.write(`${this.address().port}\n`);
  });

if (mode === 'echo') {
  const body = Buffer.from('{"ok":true}\n');
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/json', 'content-length': body.length });
    stream.end(body);
  });
  listen(server, args[0] ?? 0);
} else if (mode === 'relay') {
  const [target, port = '0', ...secrets] = args;
  const sha256 = (s) => createHash('sha256').update(s).digest('hex');
  const known = new Set(secrets.map(sha256));
  const session = http2.connect(target);
  session.on('error', () => {});
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const authorization = headers.authorization;
    const bearer = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7) : '';
    if (!known.has(sha256(bearer))) {
      stream.respond({ ':status': 401 }, { endStream: true });
      return;
    }
    const out = {};
    for (const name in headers) if (name !== 'authorization') out[name] = headers[name];
    const up = session.request(out);
    let trailers;
    up.on('response', (head) => stream.respond(head, { waitForTrailers: true }));
    up.on('trailers', (fields) => {
      trailers = fields;
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers ?? {}));
    up.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('error', () => up.close(http2.constants.NGHTTP2_CANCEL));
    stream.pipe(up);
    up.pipe(stream);
  });
  listen(server, port);
} else {
  console.error('usage: node bench/floor-h2.mjs echo PORT | relay H2C_UPSTREAM_URL PORT SECRET...');
  process.exit(2);
}
