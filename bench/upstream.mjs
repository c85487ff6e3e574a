// The benchmark upstream: the smallest HTTP server that answers every GET with a short body,
// so the numbers measure the proxy in front of it.
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true}\n');
const port = Number(process.argv[2] ?? 0);
createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
}).listen(port, '127.0.0.1', function () {
  process.stdout.write(`${this.address().port}\n`);
});
