import t from 'tap';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// Regression: a token with only the query right could send `GET` with
// `X-HTTP-Method-Override: DELETE` (or `X-Original-URL: /v1/repositories/billing/...`), and
// frameworks that honour these headers (Express method-override, Symfony, IIS URL Rewrite, Zend)
// would act on a method or path Tollgate never authorized.
const h = await startHarness();
t.teardown(() => h.close());
const data = await h.token(['query']);

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

const send = (headers: string[]) =>
  rawRequest(
    h.tollgate.proxyPort,
    [
      'GET /v1/repositories/sensors/query HTTP/1.1',
      'Host: api.example',
      `Authorization: ${bearer(data.secret).authorization}`,
      ...headers,
      'Connection: close',
      '',
      '',
    ].join('\r\n'),
  );

const OVERRIDES = [
  'X-HTTP-Method-Override',
  'X-HTTP-Method',
  'X-Method-Override',
  'X-Original-Method',
  'X-Forwarded-Method',
  'X-Original-URL',
  'X-Rewrite-URL',
  'X-Original-URI',
  'X-Forwarded-Uri',
];

t.test('method and URL override headers never reach the upstream', async (t) => {
  const res = await send(OVERRIDES.map((name) => `${name}: ${name.endsWith('Method') || name.endsWith('Override') ? 'DELETE' : '/v1/repositories/billing/q'}`));
  t.equal(res.status, 200);
  const seen = h.upstream.received[0]!;
  for (const name of OVERRIDES) t.equal(seen.headers[name.toLowerCase()], undefined, name);
  t.equal(seen.method, 'GET');
  t.equal(seen.url, '/v1/repositories/sensors/query');
});

t.test('their underscore twins, which CGI-style servers read as the same variable, are dropped too', async (t) => {
  const res = await send(['X_HTTP_Method_Override: DELETE', 'x_original_url: /v1/repositories/billing/q', 'X-Rewrite_URL: /x']);
  t.equal(res.status, 200);
  const names = h.upstream.received[0]!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  t.notOk(
    names.some((n) => n.replace(/_/g, '-').includes('method-override') || n.replace(/_/g, '-').endsWith('-url')),
    names.join(),
  );
});

t.test('underscore twins of the forwarding headers and the request id cannot shadow the ones Tollgate sets', async (t) => {
  const res = await send([
    'X_Forwarded_For: 10.0.0.1',
    'x_forwarded_host: admin.internal',
    'X_Forwarded_Proto: https',
    'x_request_id: spoofed',
    'X-Request-Id: abc',
  ]);
  t.equal(res.status, 200);
  const seen = h.upstream.received[0]!;
  const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  t.notOk(
    names.some((n) => n.startsWith('x_')),
    names.join(),
  );
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(seen.headers['x-request-id'], 'abc');
});

t.test('an incoming Forwarded header gets this hop appended, like X-Forwarded-For (RFC 7239 §4)', async (t) => {
  const res = await send(['Forwarded: for=10.0.0.1;proto=https;host=admin.internal']);
  t.equal(res.status, 200);
  const seen = h.upstream.received[0]!;
  t.equal(seen.headers.forwarded, 'for=10.0.0.1;proto=https;host=admin.internal, for=127.0.0.1;proto=http;host=api.example');
});

t.test('two Forwarded fields are joined in order before this hop is appended', async (t) => {
  const res = await send(['Forwarded: for=10.0.0.1', 'Forwarded: for="[2001:db8::1]"']);
  t.equal(res.status, 200);
  t.equal(h.upstream.received[0]!.headers.forwarded, 'for=10.0.0.1, for="[2001:db8::1]", for=127.0.0.1;proto=http;host=api.example');
});

t.test('no Forwarded header is added when the client sent none', async (t) => {
  const res = await send([]);
  t.equal(res.status, 200);
  t.equal(h.upstream.received[0]!.headers.forwarded, undefined);
});
