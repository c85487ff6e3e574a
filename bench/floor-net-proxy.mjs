// The "JS floor": the least a JavaScript proxy that checks a bearer token costs per request.
// node:net on both sides; llhttp frames requests and responses; the token's SHA-256 (hex, as
// Tollgate and bench/auth-service.mjs hash it) is looked up in a Set; the request head goes upstream
// without hop-by-hop fields or Authorization over kept-alive sockets (a plain array, no pool
// library); the response is relayed byte for byte. No metrics, no logs, no request ids, no
// pipelining, no chunked uploads. llhttp is the WebAssembly build inside undici, the one
// src/http1/codec.ts loads, not node's native parser through process.binding('http_parser')
// (deprecated there, and another parser than Tollgate runs): the ratio then measures what Tollgate
// does around the same parser. Usage: node bench/floor-net-proxy.mjs UPSTREAM_URL PORT SECRET...
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';

const [target, port = '0', ...secrets] = process.argv.slice(2);
const { hostname, port: upstreamPort } = new URL(target);
const sha256 = (s) => createHash('sha256').update(s).digest('hex');
const known = new Set(secrets.map(sha256));
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'authorization']);
const PAUSED = 21; // llhttp's HPE_PAUSED

// One instance for every parser; callbacks only record, and actions run after execute returns.
let cur;
let chunk;
let base = 0;
const require = createRequire(import.meta.url);
const ll = new WebAssembly.Instance(new WebAssembly.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js')), {
  env: {
    wasm_on_message_begin: () => 0,
    wasm_on_url: (_p, at, len) => cur.text(0, at - base, len),
    wasm_on_status: () => 0,
    wasm_on_header_field: (_p, at, len) => cur.text(1, at - base, len),
    wasm_on_header_value: (_p, at, len) => cur.text(2, at - base, len),
    wasm_on_headers_complete: () => cur.headDone(),
    wasm_on_body: (_p, at, len) => cur.data(at - base, len),
    wasm_on_message_complete: () => cur.messageDone(),
  },
}).exports;
let scratch = 0;
let scratchSize = 0;
/** Runs the parser over `data` (copied into WebAssembly memory); returns llhttp's error code. */
function execute(parser, data) {
  if (data.length > scratchSize) {
    ll.free(scratch);
    scratchSize = data.length;
    scratch = ll.malloc(scratchSize);
  }
  new Uint8Array(ll.memory.buffer, scratch, data.length).set(data);
  cur = parser;
  chunk = data;
  base = scratch;
  return ll.llhttp_execute(parser.p, scratch, data.length);
}
const methods = new Map();
function methodOf(p) {
  const code = ll.llhttp_get_method(p);
  if (!methods.has(code)) {
    const name = new Uint8Array(ll.memory.buffer, ll.llhttp_method_name(code), 16);
    methods.set(code, Buffer.from(name.subarray(0, name.indexOf(0))).toString('latin1'));
  }
  return methods.get(code);
}

const idle = [];
class Upstream {
  p = ll.llhttp_alloc(2);
  client = undefined;
  ended = false;
  socket = net.connect(Number(upstreamPort), hostname).setNoDelay(true);
  constructor() {
    this.socket.on('data', (d) => this.feed(d)).on('error', () => {});
    this.socket.on('close', () => {
      if (idle.includes(this)) idle.splice(idle.indexOf(this), 1);
      this.client?.socket.destroy();
    });
  }
  // The response is relayed as it came: its fields and body need no copies.
  text = () => 0;
  data = () => 0;
  headDone = () => (this.client.isHead ? 1 : 0); // a response to HEAD has no body
  messageDone = () => {
    this.ended = true;
    return 0;
  };
  feed(data) {
    const client = this.client;
    const code = execute(this, data);
    client.socket.write(data);
    if (code !== 0) return this.socket.destroy();
    if (!this.ended) return;
    this.ended = false;
    this.client = undefined;
    idle.push(this);
    client.next();
  }
}

class Client {
  p = ll.llhttp_alloc(1);
  url = '';
  fields = [];
  last = 0; // what the parser handed over last: a name or value in pieces spans reads
  body = [];
  head = false;
  isHead = false;
  rest = undefined; // set while a request waits for its response: what was read after it
  upstream = undefined;
  constructor(socket) {
    this.socket = socket.setNoDelay(true);
    socket.on('data', (d) => this.feed(d)).on('error', () => {});
    socket.on('close', () => ll.llhttp_free(this.p));
  }
  text(kind, start, len) {
    const s = chunk.toString('latin1', start, start + len);
    if (kind === 0) this.url += s;
    else if (kind === this.last) this.fields[this.fields.length - 1] += s;
    else this.fields.push(s);
    this.last = kind;
    return 0;
  }
  data(start, len) {
    this.body.push(chunk.subarray(start, start + len));
    return 0;
  }
  headDone() {
    this.head = true;
    this.last = 0;
    return 0;
  }
  messageDone = () => PAUSED; // one request at a time: the next waits, unparsed, for this response
  feed(data) {
    if (this.rest !== undefined) {
      this.rest = Buffer.concat([this.rest, data]);
      return;
    }
    const code = execute(this, data);
    if (code !== 0 && code !== PAUSED) return void this.socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    if (this.head) this.forward();
    for (const piece of this.body) this.upstream?.socket.write(piece);
    this.body.length = 0;
    if (code === PAUSED) this.rest = data.subarray(ll.llhttp_get_error_pos(this.p) - base);
  }
  forward() {
    this.head = false;
    const method = methodOf(this.p);
    this.isHead = method === 'HEAD';
    const f = this.fields;
    let head = `${method} ${this.url} HTTP/1.1\r\n`;
    let bearer = '';
    for (let i = 0; i < f.length; i += 2) {
      const name = f[i].toLowerCase();
      if (name === 'authorization' && f[i + 1].startsWith('Bearer ')) bearer = f[i + 1].slice(7);
      if (!HOP.has(name)) head += `${f[i]}: ${f[i + 1]}\r\n`;
    }
    this.url = '';
    f.length = 0;
    if (!known.has(sha256(bearer))) return void this.socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    this.upstream = idle.pop() ?? new Upstream();
    this.upstream.client = this;
    this.upstream.socket.write(`${head}\r\n`);
  }
  /** The response ended: the next request, if one was read already, goes on. */
  next() {
    const rest = this.rest;
    this.rest = undefined;
    this.upstream = undefined;
    ll.llhttp_resume(this.p);
    if (rest.length > 0) this.feed(rest);
  }
}

net
  .createServer((socket) => new Client(socket))
  .listen(Number(port), '127.0.0.1', function () {
    process.stdout.write(`${this.address().port}\n`);
  });
