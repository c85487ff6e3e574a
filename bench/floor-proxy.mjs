// Baseline: the least a Node proxy built like Tollgate can do. node:http in front, one undici
// Pool behind, upstream headers passed through (hop-by-hop ones aside), no token check, no metrics,
// no logs. Its CPU per request is the floor under Tollgate's own cost.
import http from 'node:http';
import { Pool } from 'undici';

const [target, port = '0'] = process.argv.slice(2);
const pool = new Pool(target, { connections: 128 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);

// undici's dispatch handler API (onRequestStart ... onResponseEnd, the one Tollgate's Exchange
// uses; undici 8 dropped the older onConnect/onHeaders/onData/onComplete).
class Forward {
  constructor(_req, res) {
    this.res = res;
    this.controller = undefined;
  }
  onRequestStart(controller) {
    this.controller = controller;
    this.res.on('drain', () => controller.resume());
  }
  onResponseStart(_controller, status, upstreamHeaders) {
    const headers = {};
    for (const name in upstreamHeaders) if (!HOP.has(name)) headers[name] = upstreamHeaders[name];
    this.res.writeHead(status, headers);
  }
  onResponseData(controller, chunk) {
    if (!this.res.write(chunk)) controller.pause();
  }
  onResponseEnd() {
    this.res.end();
  }
  onResponseError() {
    if (!this.res.headersSent) this.res.writeHead(502);
    this.res.end();
  }
}

http
  .createServer((req, res) => {
    const headers = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) headers.push(raw[i], raw[i + 1]);
    const body = req.headers['content-length'] || req.headers['transfer-encoding'] ? req : null;
    pool.dispatch({ path: req.url, method: req.method, headers, body }, new Forward(req, res));
  })
  .listen(Number(port), '127.0.0.1', function () {
    process.stdout.write(`${this.address().port}\n`);
  });
