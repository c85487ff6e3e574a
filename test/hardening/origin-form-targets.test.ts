import { connect } from 'node:http2';
import t from 'tap';
import { request } from 'undici';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// A request target is origin-form (RFC 9112 §3.2.1): path segments of RFC 3986 `pchar`, then an
// optional query. A raw `#` is no part of it: upstreams that drop a fragment before resolving dot
// segments (WHATWG URL, nginx's $uri) read `/v1/repositories/sensors/..#x` as `/v1/repositories/`,
// a path no route allows. Every port refuses such a target before anything is forwarded.

const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
t.teardown(() => h.close());
const token = await h.token(['query']);
const decision = `http://127.0.0.1:${h.tollgate.decisionPort}`;

const OUTSIDE_GRAMMAR = [
  '/v1/repositories/sensors/..#x',
  '/v1/repositories/sensors/x#/../../billing',
  '/v1/repositories/sensors/q#',
  '/v1/repositories/sensors/q?x=1#f',
  '/v1/repositories/sensors/a"b',
  '/v1/repositories/sensors/a<b>',
  '/v1/repositories/sensors/a[0]',
  '/v1/repositories/sensors/a{b}',
  '/v1/repositories/sensors/a|b',
  '/v1/repositories/sensors/a^b',
  '/v1/repositories/sensors/a`b',
  '/v1/repositories/sensors/q?x=%zz',
  '/v1/repositories/sensors/q?x=a"b',
  '/v1/repositories/sensors/q?x=<script>',
];

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('a target outside origin-form is refused with 400 on HTTP/1.1', async (t) => {
  for (const target of OUTSIDE_GRAMMAR) {
    const res = await rawRequest(
      h.tollgate.proxyPort,
      `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token.secret}\r\nConnection: close\r\n\r\n`,
    );
    t.equal(res.status, 400, target);
    t.match(res.text, /bad-path/, target);
  }
  t.equal(h.upstream.received.length, 0, 'nothing reached the upstream');
});

t.test('a :path outside origin-form is refused with 400 on HTTP/2', async (t) => {
  const session = connect(h.proxy);
  session.on('error', () => {});
  t.teardown(() => session.close());
  for (const target of OUTSIDE_GRAMMAR) {
    const status = await new Promise<number>((resolve) => {
      const stream = session.request({ ':path': target, ...bearer(token.secret) });
      let status = 0;
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('error', () => {});
      stream.resume();
      stream.on('close', () => resolve(status));
    });
    t.equal(status, 400, target);
  }
  t.equal(h.upstream.received.length, 0, 'nothing reached the upstream');
});

t.test('a forwarded target outside origin-form is refused with 400 on the decision port', async (t) => {
  for (const field of ['x-forwarded-uri', 'x-original-uri']) {
    for (const target of OUTSIDE_GRAMMAR) {
      const res = await request(`${decision}/auth`, { headers: { [field]: target, ...bearer(token.secret) } });
      const text = await res.body.text();
      t.equal(res.statusCode, 400, `${field}: ${target}`);
      t.match(text, /bad-path/);
    }
  }
});

t.test('targets inside the grammar still pass: sub-delimiters, : and @, encoded bytes, / and ? in the query', async (t) => {
  const passing = ["/v1/repositories/sensors/a!$&'()*+,=:@~_-.b", '/v1/repositories/sensors/%5B0%5D%23', '/v1/repositories/sensors/q?a=/b?c&d=%23'];
  for (const target of passing) {
    const res = await rawRequest(
      h.tollgate.proxyPort,
      `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token.secret}\r\nConnection: close\r\n\r\n`,
    );
    t.equal(res.status, 200, target);
  }
  t.same(
    h.upstream.received.map((r) => r.url),
    passing,
    'forwarded byte for byte',
  );
});
