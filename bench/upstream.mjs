// The benchmark upstream: the smallest HTTP server that answers every request with a short body
// once it has read the request body, or streams `?bytes=N` bytes for downloads. It measures
// nothing itself; the numbers are about the proxy in front of it.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true}\n');
const chunk = Buffer.alloc(1 << 20, 0x61);
const port = Number(process.argv[2] ?? 0);

const server = createServer((req, res) => {
  if (req.url.endsWith('?hold')) {
    // A download that never ends by itself (an event stream): the revocation benchmark's.
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    return void res.write('data: open\n\n');
  }
  const bytes = /[?&]bytes=(\d+)/.exec(req.url)?.[1];
  if (bytes !== undefined) {
    req.resume();
    const total = Number(bytes);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const part = sent + chunk.length <= total ? chunk : chunk.subarray(0, total - sent);
        sent += part.length;
        if (!res.write(part)) return void res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
// A WebSocket that accepts and holds (RFC 6455 §4.2.2): enough for the revocation benchmark.
server.on('upgrade', (req, socket) => {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
  socket.on('data', () => {});
  socket.on('error', () => {});
});
server.listen(port, '127.0.0.1', function () {
  process.stdout.write(`${this.address().port}\n`);
});
