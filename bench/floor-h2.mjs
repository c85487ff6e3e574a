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
//   node bench/floor-h2.mjs h1relay HTTP1_UPSTREAM_URL PORT SECRET...
//     HTTP/2 in, HTTP/1.1 out, as Tollgate's HTTP/2 front forwards: the same bearer check, the
//     request head written to an idle kept-alive node:net socket, the response head split by hand
//     (status line, fields, content-length; no chunked bodies, no pipelining) and answered with
//     respond() and end(). The least an HTTP/2-to-HTTP/1.1 proxy on node:http2 pays: read against
//     the JS floor (bench/floor-net-proxy.mjs), it says what HTTP/2 in costs a proxy before any of
//     Tollgate's own work.
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';

const [mode, ...args] = process.argv.slice(2);
const listen = (server, port) =>
  server.listen(Number(port), '127.0.0.1', function () {
    process.stdout.write(`${this.address().port}\n`);
  });

/**
 * The relays' token check, as the JS floor's: the bearer's SHA-256 looked up in a Set of the
 * given secrets' hashes; a stream without a known one gets 401 and ends here (false).
 */
function bearerCheck(secrets) {
  const sha256 = (s) => createHash('sha256').update(s).digest('hex');
  const known = new Set(secrets.map(sha256));
  return (stream, headers) => {
    const authorization = headers.authorization;
    const bearer = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7) : '';
    if (known.has(sha256(bearer))) return true;
    stream.respond({ ':status': 401 }, { endStream: true });
    return false;
  };
}

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
  const allowed = bearerCheck(secrets);
  const session = http2.connect(target);
  session.on('error', () => {});
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    if (!allowed(stream, headers)) return;
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
} else if (mode === 'h1relay') {
  const [target, port = '0', ...secrets] = args;
  const { hostname, port: upstreamPort } = new URL(target);
  const allowed = bearerCheck(secrets);
  const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'authorization', 'host']);
  const idle = [];
  /** One kept-alive upstream socket: a response is the head up to CRLFCRLF and content-length bytes. */
  class Upstream {
    stream = undefined;
    pending = undefined;
    socket = net.connect(Number(upstreamPort), hostname).setNoDelay(true);
    constructor() {
      this.socket.on('data', (d) => this.feed(d)).on('error', () => {});
      this.socket.on('close', () => {
        if (idle.includes(this)) idle.splice(idle.indexOf(this), 1);
        this.stream?.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
    }
    feed(data) {
      const buf = this.pending === undefined ? data : Buffer.concat([this.pending, data]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        this.pending = buf;
        return;
      }
      const lines = buf.toString('latin1', 0, end).split('\r\n');
      const out = { ':status': Number(lines[0].slice(9, 12)) };
      let length = 0;
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        const name = lines[i].slice(0, colon).toLowerCase();
        const value = lines[i].slice(colon + 1).trim();
        if (name === 'content-length') length = Number(value);
        if (!HOP.has(name)) out[name] = value;
      }
      if (buf.length < end + 4 + length) {
        this.pending = buf;
        return;
      }
      this.pending = undefined;
      const stream = this.stream;
      this.stream = undefined;
      idle.push(this);
      if (stream.destroyed) return;
      stream.respond(out);
      stream.end(buf.subarray(end + 4, end + 4 + length));
    }
  }
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    if (!allowed(stream, headers)) return;
    let head = `${headers[':method']} ${headers[':path']} HTTP/1.1\r\nhost: ${headers[':authority']}\r\n`;
    for (const name in headers) if (name[0] !== ':' && !HOP.has(name)) head += `${name}: ${headers[name]}\r\n`;
    const upstream = idle.pop() ?? new Upstream();
    upstream.stream = stream;
    upstream.socket.write(`${head}\r\n`);
  });
  listen(server, port);
} else {
  console.error('usage: node bench/floor-h2.mjs echo PORT | h1relay HTTP1_UPSTREAM_URL PORT SECRET... | relay H2C_UPSTREAM_URL PORT SECRET...');
  process.exit(2);
}
