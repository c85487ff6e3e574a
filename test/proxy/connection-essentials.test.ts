import t from 'tap';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// Regression: `Connection: host` removed Host, so the upstream saw its own address and no
// X-Forwarded-Host. A Connection option may not remove a field Tollgate needs end to end.
const h = await startHarness();
t.teardown(() => h.close());
const data = await h.token(['query']);

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

const send = (connection: string, extra: string[] = []) =>
  rawRequest(
    h.tollgate.proxyPort,
    [
      'GET /v1/repositories/sensors/query HTTP/1.1',
      'Host: api.example',
      `Authorization: ${bearer(data.secret).authorization}`,
      ...extra,
      `Connection: ${connection}`,
      '',
      '',
    ].join('\r\n'),
  );

t.test('Connection: host leaves Host and X-Forwarded-Host as the client sent them', async (t) => {
  const res = await send('close, host');
  t.equal(res.status, 200);
  const seen = h.upstream.received[0]!;
  t.equal(seen.headers.host, 'api.example');
  t.equal(seen.headers['x-forwarded-host'], 'api.example');
});

t.test('Connection cannot remove the X-Forwarded-* headers a client or a front proxy sent', async (t) => {
  const res = await send('close, X-Forwarded-For, x-forwarded-host, X-Forwarded-Proto, forwarded', [
    'X-Forwarded-For: 203.0.113.9',
    'X-Forwarded-Host: front.example',
    'X-Forwarded-Proto: https',
  ]);
  t.equal(res.status, 200);
  const seen = h.upstream.received[0]!;
  t.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  t.equal(seen.headers['x-forwarded-host'], 'front.example');
  t.equal(seen.headers['x-forwarded-proto'], 'https');
});

t.test('Connection cannot remove Content-Length: the body arrives framed as sent', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    [
      'PUT /v1/repositories/sensors/stream HTTP/1.1',
      'Host: api.example',
      `Authorization: ${bearer((await h.token(['stream', 'modify'])).secret).authorization}`,
      'Content-Length: 5',
      'Content-Type: text/plain',
      'Connection: close, content-length, content-type',
      '',
      'hello',
    ].join('\r\n'),
  );
  t.equal(res.status, 200);
  const seen = h.upstream.received[0]!;
  t.equal(seen.headers['content-length'], '5');
  t.equal(seen.headers['content-type'], 'text/plain');
  t.equal(seen.headers['transfer-encoding'], undefined);
});

t.test('other names in Connection are still removed (RFC 9110 §7.6.1)', async (t) => {
  const res = await send('close, x-drop-me', ['X-Drop-Me: 1', 'X-Keep-Me: 1']);
  t.equal(res.status, 200);
  const seen = h.upstream.received[0]!;
  t.equal(seen.headers['x-drop-me'], undefined);
  t.equal(seen.headers['x-keep-me'], '1');
});
