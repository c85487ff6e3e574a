import t from 'tap';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// The HTTP/1 rules the data plane keeps on its own sockets where the differential test against
// node:http leaves them out (test/http1/parser-differential.property.test.ts says why).
const h = await startHarness();
t.teardown(() => h.close());
const token = await h.token(['query', 'stream']);
const auth = `Authorization: ${bearer(token.secret).authorization}`;
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('an Expect other than 100-continue: 417 with its problem, and the next request is still served', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `GET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\n${auth}\r\nExpect: fly\r\n\r\nGET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\n${auth}\r\nConnection: close\r\n\r\n`,
  );
  t.same(statuses(res.text), [417, 200]);
  t.match(res.text, /"type":"\/problems\/expectation-failed"/);
  t.equal(h.upstream.received.length, 1, 'only the second reached the upstream');
});

t.test('an upload refused for its Expect closes the connection: its unread body is never a request', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nExpect: fly\r\nContent-Length: 200\r\n\r\n`,
  );
  t.same(statuses(res.text), [417]);
  t.match(res.text, /connection: close/i);
});

t.test('HTTP/1.0 with Transfer-Encoding: answered, then the connection closes (RFC 9112 §6.1)', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `POST /v1/repositories/sensors/stream HTTP/1.0\r\nHost: x\r\n${auth}\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\n${auth}\r\n\r\n`,
  );
  t.same(statuses(res.text), [200], 'the request behind it is not read');
  t.same(
    h.upstream.received.map((r) => r.bytes),
    [3],
  );
});

t.test('a request line with a version other than 1.x is answered once, then the connection closes', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `GET /v1/repositories/sensors/q HTTP/2.0\r\nHost: x\r\n${auth}\r\n\r\nGET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\n${auth}\r\n\r\n`,
  );
  t.same(statuses(res.text), [200]);
});

t.test('trailing whitespace is not part of a field value (the token still reads)', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `GET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\n${auth} \t\r\nX-Note: kept \t\r\nConnection: close\r\n\r\n`,
  );
  t.same(statuses(res.text), [200]);
  t.equal(h.upstream.received[0]?.headers['x-note'], 'kept');
});

t.test('HTTP/1.1 without Host: 400 before anything else', async (t) => {
  const res = await rawRequest(h.tollgate.proxyPort, `GET /v1/repositories/sensors/q HTTP/1.1\r\n${auth}\r\nConnection: close\r\n\r\n`);
  t.same(statuses(res.text), [400]);
  t.equal(h.upstream.received.length, 0);
});

t.test('a chunk that breaks its framing after the head was forwarded: 400, the upstream request aborted', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n`,
  );
  t.same(statuses(res.text), [400]);
});

t.test('a response with trailers keeps them, re-framed as chunks', async (t) => {
  const trailing = await startHarness({
    upstream: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('part one, ');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end('part two');
    },
  });
  t.teardown(() => trailing.close());
  const other = await trailing.token(['query']);
  const res = await rawRequest(
    trailing.tollgate.proxyPort,
    `GET /v1/repositories/sensors/q HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer(other.secret).authorization}\r\nConnection: close\r\n\r\n`,
  );
  t.match(res.text, /transfer-encoding: chunked/i);
  t.match(res.text, /part one, /);
  t.match(res.text, /part two/);
  t.match(res.text, /0\r\nx-checksum: abc123\r\n\r\n$/i);
});
