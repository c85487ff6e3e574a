// Baseline: node-http-proxy (the `http-proxy` package) with a keep-alive agent, no auth.
import http from 'node:http';
import httpProxy from 'http-proxy';

const [target, port = '0'] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target, agent });
proxy.on('error', (_err, _req, res) => {
  res.writeHead?.(502);
  res.end?.();
});
http
  .createServer((req, res) => proxy.web(req, res))
  .listen(Number(port), '127.0.0.1', function () {
    process.stdout.write(`${this.address().port}\n`);
  });
