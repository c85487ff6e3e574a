import t from 'tap';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

const h = await startHarness();
t.teardown(() => h.close());
const token = await h.token(['query']);
const auth = `Authorization: ${bearer(token.secret).authorization}`;
const send = (requestLine: string, headers: string[] = []) =>
  rawRequest(h.tollgate.proxyPort, `${requestLine}\r\nHost: x\r\n${auth}\r\n${headers.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('CONNECT is refused and the connection closed', async (t) => {
  const res = await send('CONNECT upstream.example:443 HTTP/1.1');
  t.equal(res.status, 400);
  t.equal(h.upstream.received.length, 0);
});

t.test('OPTIONS * and authority-form targets are refused', async (t) => {
  t.equal((await send('OPTIONS * HTTP/1.1')).status, 400);
  t.equal((await send('GET upstream.example:80 HTTP/1.1')).status, 400);
  t.equal(h.upstream.received.length, 0);
});

t.test('overlong or invalid UTF-8 in percent-encoding is refused', async (t) => {
  for (const path of [
    '/v1/repositories/sensors/%C0%AE%C0%AE/x',
    '/v1/repositories/sensors/%E0%80%AE',
    '/v1/repositories/sensors/%FF',
    '/v1/repositories/sensors/%C0%AF',
  ]) {
    t.equal((await send(`GET ${path} HTTP/1.1`)).status, 400, path);
  }
  t.equal((await send('GET /v1/repositories/sensors/caf%C3%A9 HTTP/1.1')).status, 200, 'valid UTF-8 passes');
  t.same(
    h.upstream.received.map((r) => r.url),
    ['/v1/repositories/sensors/caf%C3%A9'],
    'forwarded byte for byte',
  );
});

t.test('a very long path gets 414', async (t) => {
  const res = await send(`GET /v1/repositories/sensors/${'a'.repeat(9000)} HTTP/1.1`);
  t.equal(res.status, 414);
  t.match(res.text, /uri-too-long/);
  t.equal(h.upstream.received.length, 0);
});

t.test('too many or too large headers get 431', async (t) => {
  const large = await send('GET /v1/repositories/sensors/q HTTP/1.1', [`X-Big: ${'b'.repeat(20_000)}`]);
  t.equal(large.status, 431);
  const many = await send(
    'GET /v1/repositories/sensors/q HTTP/1.1',
    Array.from({ length: 250 }, (_, i) => `X-H${i}: v`),
  );
  t.equal(many.status, 431);
  t.match(many.text, /too-many-headers/);
  const enough = await send(
    'GET /v1/repositories/sensors/q HTTP/1.1',
    Array.from({ length: 150 }, (_, i) => `X-H${i}: v`),
  );
  t.equal(enough.status, 200, '150 fields are fine');
  // The two refused requests never reached the upstream; only the one within the limits did.
  t.same(
    h.upstream.received.map((r) => r.url),
    ['/v1/repositories/sensors/q'],
  );
});

t.test('a lower-case bearer scheme is accepted (RFC 6750), extra spaces too', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `GET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\nauthorization: bearer    ${token.secret}  \r\nConnection: close\r\n\r\n`,
  );
  t.equal(res.status, 200);
});

t.test('dot segments that Tomcat, Spring or a normalizing server would resolve are refused before forwarding', async (t) => {
  for (const path of [
    '/v1/repositories/sensors/..;/billing/q',
    '/v1/repositories/sensors/..;jsessionid=x/billing/q',
    '/v1/repositories/sensors/..%3b/billing/q',
    '/v1/repositories/sensors/..%20/billing/q',
    '/v1/repositories/sensors/..%09/billing/q',
    '/v1/repositories/sensors/%EF%BC%8E%EF%BC%8E/billing/q',
    '/v1/repositories/sensors/%E2%80%A5/billing/q',
    '/v1/repositories/sensors/%EF%BC%8F..%EF%BC%8Fbilling/q',
  ]) {
    const res = await send(`GET ${path} HTTP/1.1`);
    t.equal(res.status, 400, path);
    t.match(res.text, /bad-path/);
  }
  t.equal(h.upstream.received.length, 0, 'nothing reached the upstream');
});

t.test('a _method query parameter (Symfony, Laravel method override) is refused before forwarding', async (t) => {
  for (const target of ['/v1/repositories/sensors/q?_method=DELETE', '/v1/repositories/sensors/q?x=1&.method=DELETE']) {
    const res = await send(`GET ${target} HTTP/1.1`);
    t.equal(res.status, 400, target);
    t.match(res.text, /bad-path/);
  }
  t.equal(h.upstream.received.length, 0);
});
