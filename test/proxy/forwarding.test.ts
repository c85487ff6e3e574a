import t from 'tap';
import { request } from 'undici';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

const h = await startHarness({
  upstream: (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': 'drop me',
        'keep-alive': 'timeout=5',
        'x-upstream': 'kept',
      });
      res.end('hello');
    });
  },
});
t.teardown(() => h.close());
const data = await h.token(['query', 'stream']);

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('the upstream gets identity headers and never the Authorization header', async (t) => {
  const res = await request(`${h.proxy}/v1/repositories/sensors/query?x=1`, { headers: bearer(data.secret) });
  t.equal(res.statusCode, 200);
  t.equal(await res.body.text(), 'hello');
  const seen = h.upstream.received[0]!;
  t.equal(seen.url, '/v1/repositories/sensors/query?x=1');
  t.equal(seen.headers.authorization, undefined);
  t.equal(seen.headers['x-tollgate-token-id'], data.token.id);
  t.equal(seen.headers['x-tollgate-repository'], 'sensors');
  t.equal(seen.headers['x-tollgate-right'], 'query');
  t.equal(seen.headers['x-tollgate-user'], undefined, 'a repository token acts for no user');
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(seen.headers['x-forwarded-proto'], 'http');
  t.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${h.tollgate.proxyPort}`);
});

t.test('incoming x-tollgate-* headers and their underscore twins are dropped', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    [
      'GET /v1/repositories/sensors/query HTTP/1.1',
      'Host: x',
      `Authorization: Bearer ${data.secret}`,
      'X-Tollgate-User: root',
      'x-tollgate-repository: billing',
      'x_tollgate_user: root',
      'X-TOLLGATE-RIGHT: admin',
      'Connection: close, x-tollgate-token-id',
      '',
      '',
    ].join('\r\n'),
  );
  t.equal(res.status, 200);
  const seen = h.upstream.received[0]!;
  t.equal(seen.headers['x-tollgate-user'], undefined);
  t.equal(seen.headers.x_tollgate_user, undefined);
  t.equal(seen.headers['x-tollgate-repository'], 'sensors');
  t.equal(seen.headers['x-tollgate-right'], 'query');
  t.equal(seen.headers['x-tollgate-token-id'], data.token.id, 'Connection cannot remove what Tollgate adds');
  const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  t.equal(names.filter((n) => n === 'x-tollgate-repository').length, 1);
});

t.test('hop-by-hop headers and those named in Connection are dropped both ways', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    [
      'GET /v1/repositories/sensors/query HTTP/1.1',
      'Host: x',
      `Authorization: Bearer ${data.secret}`,
      'Connection: close, x-drop-me',
      'X-Drop-Me: 1',
      'Keep-Alive: timeout=9',
      'TE: trailers',
      'Proxy-Authorization: Basic eA==',
      'X-Keep-Me: 1',
      '',
      '',
    ].join('\r\n'),
  );
  const seen = h.upstream.received[0]!;
  for (const name of ['x-drop-me', 'keep-alive', 'te', 'proxy-authorization']) t.equal(seen.headers[name], undefined, name);
  t.equal(seen.headers['x-keep-me'], '1');
  t.notMatch(res.text, /x-secret-hop/i);
  t.notMatch(res.text, /keep-alive: timeout=5/i);
  t.match(res.text, /x-upstream: kept/);
});

t.test('an incoming x-request-id is forwarded and returned; otherwise one is made', async (t) => {
  const res = await request(`${h.proxy}/v1/repositories/sensors/query`, { headers: { ...bearer(data.secret), 'x-request-id': 'abc-123' } });
  await res.body.dump();
  t.equal(res.headers['x-request-id'], 'abc-123');
  t.equal(h.upstream.received[0]!.headers['x-request-id'], 'abc-123');
  const made = await request(`${h.proxy}/v1/repositories/sensors/query`, { headers: bearer(data.secret) });
  await made.body.dump();
  t.match(made.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  t.equal(h.upstream.received[1]!.headers['x-request-id'], made.headers['x-request-id']);
});

t.test('existing X-Forwarded-For is appended to, Proto and Host are kept', async (t) => {
  const res = await request(`${h.proxy}/v1/repositories/sensors/query`, {
    headers: { ...bearer(data.secret), 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example' },
  });
  await res.body.dump();
  const seen = h.upstream.received[0]!;
  t.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.equal(seen.headers['x-forwarded-host'], 'api.example');
});

t.test('a POST body reaches the upstream whole, with the stream right', async (t) => {
  const body = Buffer.alloc(300_000, 7);
  const res = await request(`${h.proxy}/v1/repositories/sensors/stream`, { method: 'POST', headers: bearer(data.secret), body });
  t.equal(res.statusCode, 200);
  await res.body.dump();
  t.equal(h.upstream.received[0]!.bytes, body.length);
  t.equal(h.upstream.received[0]!.headers['x-tollgate-right'], 'stream');
});

t.test('forwardAuthorization keeps the Authorization header', async (t) => {
  const other = await startHarness({ config: { proxy: { forwardAuthorization: true } } });
  t.teardown(() => other.close());
  const token = await other.token(['query']);
  const res = await request(`${other.proxy}/v1/repositories/sensors/query`, { headers: bearer(token.secret) });
  await res.body.dump();
  t.equal(other.upstream.received[0]!.headers.authorization, `Bearer ${token.secret}`);
});
