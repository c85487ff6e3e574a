import t from 'tap';
import { request } from 'undici';
import { generateSecret } from '../../src/tokens/secret.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

const h = await startHarness();
t.teardown(() => h.close());
const data = await h.token(['query', 'stream']);
const url = (path: string) => `${h.proxy}${path}`;

async function problem(res: Awaited<ReturnType<typeof request>>) {
  t.equal(res.headers['content-type'], 'application/problem+json');
  const text = await res.body.text();
  t.ok(text.length < 600, 'a problem body is a few hundred bytes');
  return { text, body: JSON.parse(text) as { status: number; type: string; requestId: string } };
}

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('no token: 401 with a Bearer challenge, and the upstream sees nothing', async (t) => {
  const res = await request(url('/v1/repositories/sensors/query'));
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], 'Bearer realm="tollgate"');
  const { body } = await problem(res);
  t.equal(body.type, '/problems/missing-token');
  t.equal(body.requestId, res.headers['x-request-id']);
  t.equal(h.upstream.received.length, 0);
});

t.test('malformed, unknown, revoked and expired tokens get 401 invalid_token', async (t) => {
  const revoked = await h.token(['query']);
  const record = (await h.tollgate.store.getToken(revoked.token.id))!;
  await h.tollgate.store.updateToken(
    { ...record, status: 'revoked', revokedAt: h.clock.now() },
    {
      at: h.clock.now(),
      actor: 'test',
      action: 'revoked',
      changes: {},
    },
    record.version,
  );
  const expiring = await h.token(['query'], 'sensors', { expiresIn: '1h' });
  h.clock.advance(3_600_000);
  t.teardown(() => h.clock.advance(-3_600_000));
  const secrets = [
    'nonsense',
    generateSecret('repository'),
    revoked.secret,
    expiring.secret,
    data.secret.slice(0, -1) + (data.secret.endsWith('x') ? 'y' : 'x'),
  ];
  for (const secret of secrets) {
    const res = await request(url('/v1/repositories/sensors/query'), { headers: bearer(secret) });
    t.equal(res.statusCode, 401, secret.slice(0, 8));
    t.equal(res.headers['www-authenticate'], 'Bearer realm="tollgate", error="invalid_token"');
    const { text, body } = await problem(res);
    t.equal(body.type, '/problems/invalid-token');
    t.notOk(text.includes(secret), 'the secret is never echoed');
  }
  t.equal(h.upstream.received.length, 0);
});

t.test('token checks are timed by where the answer came from: cache, store, negative cache', async (t) => {
  const counts = async () => {
    const text = await (await request(`${h.admin}/metrics`)).body.text();
    const read = (source: string) => Number(new RegExp(`^tollgate_auth_duration_seconds_count\\{source="${source}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { cache: read('cache'), store: read('store'), negative: read('negative') };
  };
  const send = async (secret: string) => (await request(url('/v1/repositories/sensors/query'), { headers: bearer(secret) })).body.dump();
  await send(data.secret); // cached now, whatever earlier tests did
  const before = await counts();
  const unknown = generateSecret('repository');
  for (let i = 0; i < 2; i++) for (const secret of [unknown, data.secret]) await send(secret);
  const after = await counts();
  // The unknown token: the store once, then the negative cache; the data token: the cache twice.
  t.same(
    { cache: after.cache - before.cache, store: after.store - before.store, negative: after.negative - before.negative },
    { cache: 2, store: 1, negative: 1 },
  );
});

t.test('two Authorization headers: 400', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `GET /v1/repositories/sensors/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${data.secret}\r\nAuthorization: Bearer ${data.secret}\r\nConnection: close\r\n\r\n`,
  );
  t.equal(res.status, 400);
  t.match(res.text, /duplicate-authorization/);
  t.notOk(res.text.includes(data.secret));
  t.equal(h.upstream.received.length, 0);
});

t.test('a good token on no route: 404', async (t) => {
  const res = await request(url('/v2/elsewhere'), { headers: bearer(data.secret) });
  t.equal(res.statusCode, 404);
  t.equal((await problem(res)).body.type, '/problems/no-route');
  t.equal(h.upstream.received.length, 0);
});

t.test('a method with no right: 405', async (t) => {
  const res = await request(url('/v1/repositories/sensors/query'), { method: 'OPTIONS', headers: bearer(data.secret) });
  t.equal(res.statusCode, 405);
  t.equal((await problem(res)).body.type, '/problems/method-not-allowed');
  t.equal(h.upstream.received.length, 0);
});

t.test('a right the token lacks: 403 insufficient_scope', async (t) => {
  const res = await request(url('/v1/repositories/sensors/items/1'), { method: 'DELETE', headers: bearer(data.secret) });
  t.equal(res.statusCode, 403);
  t.equal(res.headers['www-authenticate'], 'Bearer realm="tollgate", error="insufficient_scope"');
  t.equal((await problem(res)).body.type, '/problems/insufficient-scope');
  t.equal(h.upstream.received.length, 0);
});

t.test('a sensors token never reaches billing', async (t) => {
  for (const path of ['/v1/repositories/billing/query', '/v1/repositories/billing/stream']) {
    const res = await request(url(path), {
      method: path.endsWith('stream') ? 'POST' : 'GET',
      headers: bearer(data.secret),
      body: path.endsWith('stream') ? 'x' : undefined,
    });
    t.equal(res.statusCode, 403, path);
    await res.body.dump();
  }
  t.equal(h.upstream.received.length, 0);
});

t.test('unsafe paths: 400 before any route or token check', async (t) => {
  for (const path of [
    '/v1/repositories/sensors/../billing/query',
    '/v1/repositories/sensors/%2e%2e/billing/x',
    '/v1/repositories/sensors%2fx/y',
    '/v1/repositories/sensors/a%5cb',
    '/v1/repositories/sensors/%00',
  ]) {
    const res = await rawRequest(h.tollgate.proxyPort, `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${data.secret}\r\nConnection: close\r\n\r\n`);
    t.equal(res.status, 400, path);
    t.match(res.text, /"type":"\/problems\/bad-path"/, `${path}: the bad-path problem`);
  }
  t.equal(h.upstream.received.length, 0);
});

t.test('an absolute-form target is forwarded as its path only', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `GET http://evil.example/v1/repositories/sensors/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${data.secret}\r\nConnection: close\r\n\r\n`,
  );
  t.equal(res.status, 200);
  t.equal(h.upstream.received[0]?.url, '/v1/repositories/sensors/query');
});

t.test('a public route needs no token and gets no identity headers', async (t) => {
  const res = await request(url('/health'));
  t.equal(res.statusCode, 200);
  await res.body.dump();
  t.equal(h.upstream.received.length, 1);
  t.equal(h.upstream.received[0]!.headers['x-tollgate-token-id'], undefined);
});

t.test('a refused upload closes the connection instead of reading the body as a request', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    'POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\nGET /v1/repositories/billing/query HTTP/1.1\r\nHost: x\r\n\r\n',
  );
  t.equal(res.status, 401);
  t.equal(res.text.match(/HTTP\/1\.1/g)?.length, 1, 'one response, then close');
  t.equal(h.upstream.received.length, 0);
});
