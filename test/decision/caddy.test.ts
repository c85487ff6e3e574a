import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { CADDY, missing, startCaddy } from '../helpers/front-proxy.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { docBlocks } from '../helpers/markdown.js';

// Caddy in front of a real upstream, asking Tollgate's decision port with the Caddyfile of docs/decision-api/caddy.md
// as printed (only the site address and the two ports are this test's).
const why = missing(CADDY, 'caddy');
if (why !== undefined) {
  t.skip(`Caddy: ${why}`, () => {});
} else {
  const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
  t.teardown(() => h.close());
  const [printed] = docBlocks('docs/decision-api/caddy.md', 'caddyfile');
  if (printed === undefined) throw new Error('docs/decision-api/caddy.md has no Caddyfile');
  const site = printed
    .replace('forward_auth 127.0.0.1:8081', `forward_auth 127.0.0.1:${h.tollgate.decisionPort}`)
    .replace('reverse_proxy 127.0.0.1:8000', `reverse_proxy 127.0.0.1:${h.upstream.port}`);
  // The helper writes the site address; the page's block body goes inside it.
  const body = site.slice(site.indexOf('{\n') + 2, site.lastIndexOf('}'));
  const caddy = await startCaddy(body);
  t.teardown(() => caddy.stop());
  const data = await h.token(['query', 'stream']);
  const Q = '/v1/repositories/sensors/query';
  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const res = await request(`${caddy.origin}${path}`, { method, headers });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };
  const typeOf = (text: string) => (JSON.parse(text) as { type: string }).type;

  t.beforeEach(() => {
    h.upstream.received.length = 0;
  });

  t.test('an allowed GET reaches the upstream with the identity headers and without the token', async (t) => {
    const res = await get(`${Q}?from=1`, { ...bearer(data.secret), 'x-request-id': 'caddy-1' });
    t.equal(res.status, 200, caddy.output());
    t.equal(h.upstream.received.length, 1);
    const seen = h.upstream.received[0]!;
    t.equal(seen.url, `${Q}?from=1`);
    t.equal(seen.headers['x-tollgate-token-id'], data.token.id);
    t.equal(seen.headers['x-tollgate-repository'], 'sensors');
    t.equal(seen.headers['x-tollgate-right'], 'query');
    t.equal(seen.headers['x-tollgate-user'], undefined);
    t.equal(seen.headers.authorization, undefined);
    t.equal(seen.headers['x-request-id'], 'caddy-1');
  });

  t.test('client-sent identity headers never reach the upstream', async (t) => {
    const res = await get(Q, { ...bearer(data.secret), 'x-tollgate-user': 'root', 'x-tollgate-repository': 'billing' });
    t.equal(res.status, 200);
    t.equal(h.upstream.received[0]?.headers['x-tollgate-user'], undefined);
    t.equal(h.upstream.received[0]?.headers['x-tollgate-repository'], 'sensors');
  });

  t.test('a client cannot pick what is judged with its own X-Forwarded-Uri or X-Original-URI', async (t) => {
    const res = await get('/v1/repositories/billing/query', { ...bearer(data.secret), 'x-forwarded-uri': Q, 'x-original-uri': Q, 'x-forwarded-method': 'GET' });
    t.equal(res.status, 403);
    t.equal(h.upstream.received.length, 0);
  });

  t.test('401 and 403 come back with the challenge and the problem body', async (t) => {
    const none = await get(Q);
    t.equal(none.status, 401);
    t.equal(none.headers['www-authenticate'], 'Bearer realm="tollgate"');
    t.equal(none.headers['content-type'], 'application/problem+json');
    t.equal(typeOf(none.text), '/problems/missing-token');
    const scope = await get('/v1/repositories/billing/query', bearer(data.secret));
    t.equal(scope.status, 403);
    t.equal(scope.headers['www-authenticate'], 'Bearer realm="tollgate", error="insufficient_scope"');
    t.equal(typeOf(scope.text), '/problems/insufficient-scope');
    t.equal(h.upstream.received.length, 0);
  });

  t.test('404 and 405 reach the client as Tollgate answered', async (t) => {
    const route = await get('/nowhere', bearer(data.secret));
    t.equal(route.status, 404);
    t.equal(typeOf(route.text), '/problems/no-route');
    const method = await get(Q, bearer(data.secret), 'OPTIONS');
    t.equal(method.status, 405);
    t.equal(typeOf(method.text), '/problems/method-not-allowed');
    t.equal(h.upstream.received.length, 0);
  });

  t.test('a write is judged by its own method', async (t) => {
    const res = await get('/v1/repositories/sensors/stream', bearer(data.secret), 'POST');
    t.equal(res.status, 200);
    t.equal(h.upstream.received[0]?.headers['x-tollgate-right'], 'stream');
    const del = await get(Q, bearer(data.secret), 'DELETE');
    t.equal(del.status, 403);
  });

  t.test('a public route passes without a token, with no identity headers upstream', async (t) => {
    const res = await get('/health', { 'x-tollgate-user': 'root' });
    t.equal(res.status, 200);
    const seen = h.upstream.received[0]!;
    t.same(
      Object.keys(seen.headers).filter((name) => name.startsWith('x-tollgate-')),
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

  t.test('a revoked token is refused on the next request', async (t) => {
    const token = await h.token(['query']);
    t.equal((await get(Q, bearer(token.secret))).status, 200);
    t.equal((await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret)).status, 200);
    const res = await get(Q, bearer(token.secret));
    t.equal(res.status, 401);
    t.equal(res.headers['www-authenticate'], 'Bearer realm="tollgate", error="invalid_token"');
  });
}
