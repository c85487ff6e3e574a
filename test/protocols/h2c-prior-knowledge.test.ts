import { createConnection } from 'node:net';
import t from 'tap';
import { curl } from '../helpers/curl.js';
import { bearer, startHarness } from '../helpers/harness.js';

const h = await startHarness();
t.teardown(() => h.close());
const data = await h.token(['query', 'stream']);
const auth = `authorization: ${bearer(data.secret).authorization}`;

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('a GET by prior knowledge is judged and forwarded as HTTP/1.1 with identity headers', async (t) => {
  const res = await curl([
    '--http2-prior-knowledge',
    '-H',
    auth,
    '-H',
    'x-request-id: h2-get-1',
    '-H',
    'cookie: a=1',
    '-H',
    'cookie: b=2',
    `${h.proxy}/v1/repositories/sensors/query?x=1`,
  ]);
  t.equal(res.httpVersion, '2');
  t.equal(res.status, 200);
  t.equal(res.headers['x-request-id'], 'h2-get-1');
  t.equal(res.headers['x-upstream'], 'yes');
  t.same(JSON.parse(res.body), { ok: true, bytes: 0 });
  const seen = h.upstream.received[0]!;
  t.equal(seen.method, 'GET');
  t.equal(seen.url, '/v1/repositories/sensors/query?x=1');
  t.equal(seen.headers.host, `127.0.0.1:${h.tollgate.proxyPort}`, ':authority becomes Host');
  t.equal(seen.headers.authorization, undefined);
  t.equal(seen.headers['x-tollgate-token-id'], data.token.id);
  t.equal(seen.headers['x-tollgate-repository'], 'sensors');
  t.equal(seen.headers['x-tollgate-right'], 'query');
  t.equal(seen.headers['x-forwarded-proto'], 'http');
  t.equal(seen.headers['x-request-id'], 'h2-get-1');
  t.equal(seen.headers.cookie, 'a=1; b=2', 'split cookie fields are joined (RFC 9113 §8.2.3)');
  t.notOk(
    Object.keys(seen.headers).some((name) => name.startsWith(':')),
    'no pseudo-header reaches the upstream',
  );
});

t.test('a POST body by prior knowledge reaches the upstream whole, with and without a length', async (t) => {
  const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const res = await curl(['--http2-prior-knowledge', '-H', auth, '--data-binary', '@-', `${h.proxy}/v1/repositories/sensors/stream`], body);
  t.equal(res.status, 200);
  t.same(JSON.parse(res.body), { ok: true, bytes: body.length });
  t.equal(h.upstream.received[0]!.headers['content-length'], String(body.length));
  const chunked = await curl(['--http2-prior-knowledge', '-H', auth, '-H', 'transfer-encoding:', '-T', '-', `${h.proxy}/v1/repositories/sensors/stream`], body);
  t.equal(chunked.status, 200);
  t.equal(h.upstream.received[1]!.method, 'PUT');
  t.equal(h.upstream.received[1]!.bytes, body.length);
});

t.test('a refusal on HTTP/2 is the same problem+json as on HTTP/1.1', async (t) => {
  const missing = await curl(['--http2-prior-knowledge', `${h.proxy}/v1/repositories/sensors/query`]);
  t.equal(missing.httpVersion, '2');
  t.equal(missing.status, 401);
  t.equal(missing.headers['content-type'], 'application/problem+json');
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="tollgate"');
  t.match(JSON.parse(missing.body), { status: 401, type: '/problems/missing-token', requestId: missing.headers['x-request-id'] });
  const other = await curl(['--http2-prior-knowledge', '-H', auth, `${h.proxy}/v1/repositories/billing/query`]);
  t.equal(other.status, 403);
  t.match(JSON.parse(other.body), { type: '/problems/insufficient-scope' });
  const dots = await curl(['--http2-prior-knowledge', '--path-as-is', '-H', auth, `${h.proxy}/v1/repositories/sensors/%2e%2e/billing`]);
  t.equal(dots.status, 400);
  t.match(JSON.parse(dots.body), { type: '/problems/bad-path' });
  t.equal(h.upstream.received.length, 0, 'nothing refused reached the upstream');
});

t.test('the HTTP/2 preface on a connection that already spoke HTTP/1.1 gets 400', async (t) => {
  const text = await new Promise<string>((resolve) => {
    const socket = createConnection({ port: h.tollgate.proxyPort, host: '127.0.0.1' });
    let got = '';
    let sentPreface = false;
    socket.on('data', (chunk) => {
      got += chunk.toString('latin1');
      if (!sentPreface && got.includes('\r\n\r\n') && got.includes('"ok":true')) {
        sentPreface = true;
        socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(got));
    socket.write(`GET /v1/repositories/sensors/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${data.secret}\r\n\r\n`);
  });
  t.match(text, /^HTTP\/1\.1 200 /);
  const second = text.slice(text.indexOf('HTTP/1.1', 5));
  t.match(second, /^HTTP\/1\.1 400 /, 'the preface is not taken for HTTP/2 mid-connection');
  t.equal(h.upstream.received.length, 1);
});

t.test('a preface sent in pieces is still recognised', async (t) => {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  const reply = await new Promise<Buffer>((resolve) => {
    const socket = createConnection({ port: h.tollgate.proxyPort, host: '127.0.0.1' }, () => {
      socket.write(preface.subarray(0, 5));
      setImmediate(() => socket.write(Buffer.concat([preface.subarray(5), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])));
    });
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk);
    });
  });
  t.equal(reply[3], 4, 'the server answers with an HTTP/2 SETTINGS frame');
});

t.test('HEAD by prior knowledge answers with the head alone', async (t) => {
  const res = await curl(['--http2-prior-knowledge', '-I', '-H', auth, `${h.proxy}/v1/repositories/sensors/query`]);
  t.equal(res.status, 200);
  t.equal(res.body.trim(), '', JSON.stringify(res.body));
  t.equal(h.upstream.received[0]!.method, 'HEAD');
});
