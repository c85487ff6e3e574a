import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { missing, NGINX, startNginx } from '../helpers/front-proxy.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { docBlocks } from '../helpers/markdown.js';
import { freePort } from '../helpers/ports.js';
import { rawRequest } from '../helpers/raw-http.js';

// nginx-light in front of a real upstream, asking Tollgate's decision port with the configuration of docs/decision-api/nginx.md
// as printed (only the addresses are this test's).
const why = missing(NGINX, 'nginx-light');
if (why !== undefined) {
  t.skip(`nginx: ${why}`, () => {});
} else {
  const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
  t.teardown(() => h.close());
  const [printed] = docBlocks('docs/decision-api/nginx.md', 'nginx');
  if (printed === undefined) throw new Error('docs/decision-api/nginx.md has no nginx configuration');
  const conf = printed
    .replace('server 127.0.0.1:8081;', `server 127.0.0.1:${h.tollgate.decisionPort};`)
    .replace('server 127.0.0.1:8000;', `server 127.0.0.1:${h.upstream.port};`);
  const [head, server] = splitServer(conf);
  const nginx = await startNginx(head, server);
  t.teardown(() => nginx.stop());
  const data = await h.token(['query', 'stream']);
  const Q = '/v1/repositories/sensors/query';
  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const res = await request(`${nginx.origin}${path}`, { method, headers });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };

  t.beforeEach(() => {
    h.upstream.received.length = 0;
  });

  t.test('an allowed GET reaches the upstream with the identity headers and without the token', async (t) => {
    const res = await get(`${Q}?from=1`, { ...bearer(data.secret), 'x-request-id': 'nginx-1' });
    t.equal(res.status, 200, nginx.output());
    t.equal(h.upstream.received.length, 1);
    const seen = h.upstream.received[0]!;
    t.equal(seen.url, `${Q}?from=1`, 'the target Tollgate judged');
    t.equal(seen.headers['x-tollgate-token-id'], data.token.id);
    t.equal(seen.headers['x-tollgate-repository'], 'sensors');
    t.equal(seen.headers['x-tollgate-right'], 'query');
    t.equal(seen.headers['x-tollgate-user'], undefined);
    t.equal(seen.headers.authorization, undefined);
    t.equal(seen.headers['x-request-id'], 'nginx-1');
  });

  t.test('client-sent identity headers never reach the upstream', async (t) => {
    const res = await get(Q, { ...bearer(data.secret), 'x-tollgate-user': 'root', 'x-tollgate-repository': 'billing' });
    t.equal(res.status, 200);
    t.equal(h.upstream.received[0]?.headers['x-tollgate-user'], undefined);
    t.equal(h.upstream.received[0]?.headers['x-tollgate-repository'], 'sensors');
  });

  t.test('a client cannot pick what is judged with its own X-Forwarded-Uri', async (t) => {
    const res = await get('/v1/repositories/billing/query', { ...bearer(data.secret), 'x-forwarded-uri': Q, 'x-forwarded-method': 'GET' });
    t.equal(res.status, 403);
    t.equal(h.upstream.received.length, 0);
  });

  // nginx's $uri drops a fragment before resolving dot segments (`sensors/..#x` is
  // `/v1/repositories/`) and decodes before routing (`%73tream` is `stream`); the decision port
  // judges $request_uri, so it must refuse what nginx would read as another path.
  t.test('a target with a fragment, or a route spelled another way, never reaches the upstream', async (t) => {
    const only = await h.token(['query']);
    for (const target of [
      '/v1/repositories/sensors/..#x',
      '/v1/repositories/sensors/q#',
      '/v1/repositories/sensors/%73tream',
      '/v1/repositories/sensors/STREAM',
      '/v1/repositories/sensors//stream',
    ]) {
      const res = await rawRequest(
        nginx.port,
        `PUT ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${only.secret}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      t.equal(res.status, 400, target);
    }
    t.equal(h.upstream.received.length, 0, nginx.output());
  });

  t.test('401 comes back with the challenge and the problem body', async (t) => {
    const res = await get(Q);
    t.equal(res.status, 401);
    t.equal(res.headers['www-authenticate'], 'Bearer realm="tollgate"');
    t.equal(res.headers['content-type'], 'application/problem+json');
    t.equal((JSON.parse(res.text) as { type: string }).type, '/problems/missing-token');
    t.equal(h.upstream.received.length, 0);
  });

  t.test('403 comes back with the insufficient_scope challenge', async (t) => {
    const res = await get('/v1/repositories/billing/query', bearer(data.secret));
    t.equal(res.status, 403);
    t.equal(res.headers['www-authenticate'], 'Bearer realm="tollgate", error="insufficient_scope"');
    t.equal((JSON.parse(res.text) as { type: string }).type, '/problems/insufficient-scope');
    t.equal(h.upstream.received.length, 0);
  });

  t.test('404 and 405, which auth_request alone turns into 500, reach the client as Tollgate answered', async (t) => {
    const route = await get('/nowhere', bearer(data.secret));
    t.equal(route.status, 404);
    t.equal((JSON.parse(route.text) as { type: string }).type, '/problems/no-route');
    const method = await get(Q, bearer(data.secret), 'OPTIONS');
    t.equal(method.status, 405);
    t.equal((JSON.parse(method.text) as { type: string }).type, '/problems/method-not-allowed');
    t.equal(h.upstream.received.length, 0);
  });

  t.test('a refused HEAD comes back as a bare 401, and the next requests are answered', async (t) => {
    for (let i = 0; i < 3; i++) {
      const res = await request(`${nginx.origin}${Q}`, { method: 'HEAD' });
      await res.body.dump();
      t.equal(res.statusCode, 401);
      t.equal(res.headers['www-authenticate'], 'Bearer realm="tollgate"');
      t.equal((await get(Q, bearer(data.secret))).status, 200);
    }
  });

  t.test('a refused upload never reaches the upstream', async (t) => {
    const res = await get('/v1/repositories/billing/stream', { ...bearer(data.secret), 'content-type': 'text/plain' }, 'POST');
    t.equal(res.status, 403);
    t.equal(h.upstream.received.length, 0);
  });

  t.test('the refusal keeps the request id', async (t) => {
    const res = await get(Q, { 'x-request-id': 'nginx-2' });
    t.equal(res.status, 401);
    t.equal(res.headers['x-request-id'], 'nginx-2');
    t.equal((JSON.parse(res.text) as { requestId: string }).requestId, 'nginx-2');
  });

  t.test('a public route passes without a token, with no identity headers upstream', async (t) => {
    const res = await get('/health', { 'x-tollgate-user': 'root' });
    t.equal(res.status, 200);
    t.same(
      Object.keys(h.upstream.received[0]!.headers).filter((name) => name.startsWith('x-tollgate-')),
      [],
    );
  });

  t.test('a personal token reaches the upstream with its user', async (t) => {
    t.equal((await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'carol', grants: { sensors: ['query'] } })).status, 201);
    const personal = (
      await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'personal', name: 'p', user: 'carol', repository: 'sensors', rights: ['query'] })
    ).body as { secret: string };
    t.equal((await get(Q, bearer(personal.secret))).status, 200);
    t.equal(h.upstream.received[0]?.headers['x-tollgate-user'], 'carol');
  });

  t.test('with the decision port unreachable, nothing reaches the upstream (fail closed)', async (t) => {
    const deadPort = await freePort();
    const [head2, server2] = splitServer(
      printed.replace('server 127.0.0.1:8081;', `server 127.0.0.1:${deadPort};`).replace('server 127.0.0.1:8000;', `server 127.0.0.1:${h.upstream.port};`),
    );
    const orphan = await startNginx(head2, server2);
    t.teardown(() => orphan.stop());
    const res = await request(`${orphan.origin}${Q}`, { headers: bearer(data.secret) });
    await res.body.dump();
    t.equal(res.statusCode, 502);
    t.equal(h.upstream.received.length, 0);
  });

  t.test('a store outage reaches the client as 503 with Retry-After and the problem body', async (t) => {
    const store = new FlakyStore();
    const down = await startHarness({ store, config: { decision: { listen: '127.0.0.1:0' } } });
    t.teardown(() => down.close());
    const [head3, server3] = splitServer(
      printed
        .replace('server 127.0.0.1:8081;', `server 127.0.0.1:${down.tollgate.decisionPort};`)
        .replace('server 127.0.0.1:8000;', `server 127.0.0.1:${down.upstream.port};`),
    );
    const front = await startNginx(head3, server3);
    t.teardown(() => front.stop());
    const token = await down.token(['query']);
    store.isDown = true;
    const res = await request(`${front.origin}${Q}`, { headers: bearer(token.secret) });
    t.equal(res.statusCode, 503);
    t.equal(res.headers['retry-after'], '1');
    t.equal(((await res.body.json()) as { type: string }).type, '/problems/store-unavailable');
    t.equal(down.upstream.received.length, 0);
  });

  t.test('a revoked token is refused on the next request', async (t) => {
    const token = await h.token(['query']);
    t.equal((await get(Q, bearer(token.secret))).status, 200);
    t.equal((await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret)).status, 200);
    const res = await get(Q, bearer(token.secret));
    t.equal(res.status, 401);
    t.equal(res.headers['www-authenticate'], 'Bearer realm="tollgate", error="invalid_token"');
  });
}

/** The page's block is an http-level part and one `server { ... }`: split for the helper. */
function splitServer(conf: string): [string, string] {
  const at = conf.indexOf('server {\n');
  const body = conf.slice(at + 'server {\n'.length, conf.lastIndexOf('}'));
  return [conf.slice(0, at), body.replace(/^\s*listen 80;\n/m, '')];
}
