// The benchmark upstream: the smallest HTTP server that answers every request with a short body
// once it has read the request body, or streams `?bytes=N` bytes for downloads. It measures
// nothing itself; the numbers are about the proxy in front of it.
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true}\n');
const chunk = Buffer.alloc(1 << 20, 0x61);
const port = Number(process.argv[2] ?? 0);

createServer((req, res) => {
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
}).listen(port, '127.0.0.1', function () {
  process.stdout.write(`${this.address().port}\n`);
});
