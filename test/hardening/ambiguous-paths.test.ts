import t from 'tap';
import { request } from 'undici';
import { startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// `/v1/repositories/:repository/stream` needs `stream`; the catch-all after it needs `query`. A
// segment that spells `stream` another way (other case, encoded unreserved characters, a `;`
// parameter, an empty segment before it) missed the stream route and matched the catch-all, while
// case-insensitive, decoding, `;`-stripping or slash-merging upstreams route it to the stream
// endpoint: a query-only token could PUT a stream or open its WebSocket. Such a path is 400
// `/problems/ambiguous-path`, so what is authorized is what every upstream routes.

const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
t.teardown(() => h.close());
const token = await h.token(['query']);
const decision = `http://127.0.0.1:${h.tollgate.decisionPort}`;

const SPELLINGS = [
  '/v1/repositories/sensors/STREAM',
  '/v1/repositories/sensors/Stream',
  '/v1/repositories/sensors/%73tream',
  '/v1/repositories/sensors/stre%61m',
  '/v1/repositories/sensors/stream;v=1',
  '/v1/repositories/sensors/stream%3Bv=1',
  '/v1/repositories/sensors//stream',
  '/v1/repositories/sensors/stream//',
  '/v1/repositories/sensors/events///',
  '/v1/repositories/sensors/;v=1/stream',
  '/v1/repositories/sensors/stream/;x',
  '/v1/repositories/sensors/stream.',
  '/v1/repositories/sensors/EVENTS',
  '/V1/repositories/sensors/x',
  '/v1/Repositories/sensors/x',
];

const send = (head: string) => rawRequest(h.tollgate.proxyPort, `${head}\r\nHost: x\r\nAuthorization: Bearer ${token.secret}\r\nConnection: close\r\n\r\n`);

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('a PUT to another spelling of the stream route is 400 ambiguous-path, not a catch-all match', async (t) => {
  for (const path of SPELLINGS) {
    const res = await send(`PUT ${path} HTTP/1.1\r\nContent-Length: 0`);
    t.equal(res.status, 400, path);
    t.match(res.text, /\/problems\/ambiguous-path/, path);
  }
  t.equal(h.upstream.received.length, 0, 'nothing reached the upstream');
});

t.test('a WebSocket upgrade to another spelling of the stream route is refused', async (t) => {
  for (const path of SPELLINGS.slice(0, 5)) {
    const res = await send(
      `GET ${path} HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==`,
    );
    t.equal(res.status, 400, path);
  }
  t.equal(h.upstream.received.length, 0);
});

t.test('the decision port refuses the same spellings in X-Forwarded-Uri', async (t) => {
  for (const path of SPELLINGS) {
    const res = await request(`${decision}/auth`, {
      headers: { 'x-forwarded-method': 'PUT', 'x-forwarded-uri': path, authorization: `Bearer ${token.secret}` },
    });
    const text = await res.body.text();
    t.equal(res.statusCode, 400, path);
    t.match(text, /ambiguous-path/, path);
  }
});

t.test('the exact spelling is judged as before, and other segments keep their case and encoding', async (t) => {
  t.equal((await send('PUT /v1/repositories/sensors/stream HTTP/1.1\r\nContent-Length: 0')).status, 403, 'the stream route needs stream');
  for (const path of [
    '/v1/repositories/sensors/q',
    '/v1/repositories/sensors/Data/STREAM',
    '/v1/repositories/sensors/x/%73tream',
    '/v1/repositories/sensors/a;b/c',
    '/v1/repositories/sensors/streams',
    '/v1/repositories/sensors/x/y//z',
    '/v1/repositories/sensors/streams/',
  ]) {
    t.equal((await send(`GET ${path} HTTP/1.1`)).status, 200, path);
  }
});
