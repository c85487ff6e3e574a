import t from 'tap';
import { request } from 'undici';
import { parse } from 'yaml';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';
import { docBlocks } from '../helpers/markdown.js';

// Traefik, Envoy and Istio are not in Debian, so their configurations (docs/decision-api/) are not run for
// real: each test here replays the request that proxy sends as its documentation describes, with
// the values read from each page's configuration, and checks what the proxy would do with the
// answer.

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON tree read by path; unknown would need a cast at every step
type Tree = Record<string, any>;
const blocks = ['traefik', 'envoy', 'istio'].flatMap((peer) => docBlocks(`docs/decision-api/${peer}.md`, 'yaml')).map((text) => parse(text) as Tree);
const traefik = blocks.find((b) => b.http?.middlewares?.tollgate?.forwardAuth)!.http.middlewares.tollgate.forwardAuth as Tree;
const envoy = (blocks.find((b) => Array.isArray(b.http_filters))!.http_filters as Tree[])[0]!.typed_config.http_service as Tree;
const istio = (blocks.find((b) => b.meshConfig)!.meshConfig.extensionProviders as Tree[])[0]!.envoyExtAuthzHttp as Tree;

const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0', pathPrefix: envoy.path_prefix } } });
t.teardown(() => h.close());
const decision = `http://127.0.0.1:${h.tollgate.decisionPort}`;
const data = await h.token(['query', 'stream']);
const Q = '/v1/repositories/sensors/query';
const IDENTITY = ['x-tollgate-token-id', 'x-tollgate-repository', 'x-tollgate-user', 'x-tollgate-right'];

t.test('the documented configurations agree with Tollgate: prefix, identity headers', async (t) => {
  t.equal(istio.pathPrefix, envoy.path_prefix, 'Istio and Envoy use the one decision.pathPrefix');
  t.same(
    (traefik.authResponseHeaders as string[]).map((n) => n.toLowerCase()),
    IDENTITY,
  );
  t.same(istio.headersToUpstreamOnAllow, IDENTITY);
  t.same(envoy.authorization_response.allowed_upstream_headers.patterns, [{ prefix: 'x-tollgate-' }]);
  t.equal(traefik.trustForwardHeader, false);
  const traefikBlock = blocks.find((b) => b.http?.middlewares?.tollgate)!.http as Tree;
  t.same(
    traefikBlock.routers.data.middlewares,
    ['strip-identity', 'tollgate', 'drop-token'],
    'client identity headers go before the question, the token after',
  );
  t.same(
    Object.keys(traefikBlock.middlewares['strip-identity'].headers.customRequestHeaders).map((n) => n.toLowerCase()),
    IDENTITY,
  );
});

/** Traefik's forwardAuth: GET to `address` with the client's headers and its own X-Forwarded-*. */
async function viaTraefik(method: string, uri: string, client: Record<string, string>) {
  const address = new URL(traefik.address as string);
  const res = await request(`${decision}${address.pathname}`, {
    method: 'GET',
    headers: {
      ...client,
      'x-forwarded-method': method,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
      'x-forwarded-uri': uri,
      'x-forwarded-for': '203.0.113.9',
    },
  });
  const text = await res.body.text();
  // What Traefik does with a 2xx: copies authResponseHeaders onto the request (removing the
  // client's of those names); anything else goes back to the client with headers and body.
  const upstream: Record<string, string> = {};
  for (const name of traefik.authResponseHeaders as string[]) {
    const value = res.headers[name.toLowerCase()];
    if (typeof value === 'string') upstream[name.toLowerCase()] = value;
  }
  return { status: res.statusCode, headers: res.headers, text, upstream };
}

t.test('Traefik: an allowed request gets the identity headers to copy', async (t) => {
  const res = await viaTraefik('GET', `${Q}?a=1`, { authorization: `Bearer ${data.secret}`, 'user-agent': 'curl/8' });
  t.equal(res.status, 200);
  t.same(res.upstream, { 'x-tollgate-token-id': data.token.id, 'x-tollgate-repository': 'sensors', 'x-tollgate-right': 'query' });
});

t.test('Traefik: refusals go back with status, challenge and problem body', async (t) => {
  const none = await viaTraefik('GET', Q, {});
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="tollgate"');
  t.equal(none.headers['content-type'], 'application/problem+json');
  const scope = await viaTraefik('DELETE', Q, { authorization: `Bearer ${data.secret}` });
  t.equal(scope.status, 403);
  t.equal(scope.headers['www-authenticate'], 'Bearer realm="tollgate", error="insufficient_scope"');
  t.equal((await viaTraefik('GET', '/nowhere', { authorization: `Bearer ${data.secret}` })).status, 404);
  t.equal((await viaTraefik('OPTIONS', Q, { authorization: `Bearer ${data.secret}` })).status, 405);
});

t.test('Traefik: a revoked token is refused on the next request', async (t) => {
  const token = await h.token(['query']);
  t.equal((await viaTraefik('GET', Q, { authorization: `Bearer ${token.secret}` })).status, 200);
  await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret);
  t.equal((await viaTraefik('GET', Q, { authorization: `Bearer ${token.secret}` })).status, 401);
});

/**
 * Envoy's HTTP ext_authz (and Istio's envoyExtAuthzHttp): the original method, path_prefix + the
 * original path, Content-Length 0, and only Host, Authorization and the allowed headers.
 */
async function viaEnvoy(method: string, path: string, client: Record<string, string>, allowed: string[]) {
  const headers: Record<string, string> = { host: 'api.example.com', 'content-length': '0', 'x-envoy-expected-rq-timeout-ms': '250' };
  for (const [name, value] of Object.entries(client)) if (name === 'authorization' || allowed.includes(name)) headers[name] = value;
  const res = await request(`${decision}${envoy.path_prefix as string}${path}`, { method, headers });
  const text = await res.body.text();
  // What Envoy does with a 200: removes x-envoy-auth-headers-to-remove, then sets the allowed
  // upstream headers from the answer.
  const upstream = Object.assign(Object.create(null) as Record<string, string>, client);
  if (res.statusCode === 200) {
    const remove = String(res.headers['x-envoy-auth-headers-to-remove'] ?? '')
      .split(',')
      .map((n) => n.trim());
    for (const name of remove) delete upstream[name];
    for (const name of IDENTITY) if (typeof res.headers[name] === 'string') upstream[name] = res.headers[name] as string;
  }
  return { status: res.statusCode, headers: res.headers, text, upstream };
}
const envoyAllowed = (envoy.authorization_request.allowed_headers.patterns as Array<{ exact: string }>).map((p) => p.exact);

t.test('Envoy: an allowed request reaches the upstream with the identity headers, without the token or a spoofed user', async (t) => {
  const res = await viaEnvoy('GET', `${Q}?a=1`, { authorization: `Bearer ${data.secret}`, 'x-request-id': 'envoy-1', 'x-tollgate-user': 'root' }, envoyAllowed);
  t.equal(res.status, 200, 'only 200 lets the request on in Envoy');
  t.equal(res.headers['x-request-id'], 'envoy-1');
  t.same(
    { ...res.upstream },
    { 'x-request-id': 'envoy-1', 'x-tollgate-token-id': data.token.id, 'x-tollgate-repository': 'sensors', 'x-tollgate-right': 'query' },
  );
});

t.test('Envoy: the method is the original one, so a write needs its right', async (t) => {
  t.equal((await viaEnvoy('POST', '/v1/repositories/sensors/stream', { authorization: `Bearer ${data.secret}` }, envoyAllowed)).status, 200);
  const del = await viaEnvoy('DELETE', Q, { authorization: `Bearer ${data.secret}` }, envoyAllowed);
  t.equal(del.status, 403);
  t.equal(del.headers['www-authenticate'], 'Bearer realm="tollgate", error="insufficient_scope"');
});

t.test('Envoy: refusals carry status, challenge and problem body back', async (t) => {
  const none = await viaEnvoy('GET', Q, {}, envoyAllowed);
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="tollgate"');
  t.equal((JSON.parse(none.text) as { type: string }).type, '/problems/missing-token');
  t.equal((await viaEnvoy('GET', '/nowhere', { authorization: `Bearer ${data.secret}` }, envoyAllowed)).status, 404);
  t.equal((await viaEnvoy('GET', '/v1/repositories/sensors%2f..%2fbilling/query', { authorization: `Bearer ${data.secret}` }, envoyAllowed)).status, 400);
});

t.test('Envoy with allowed_headers that let x- through: a client-sent X-Forwarded-Uri is ignored under the prefix', async (t) => {
  const res = await viaEnvoy('GET', '/v1/repositories/billing/query', { authorization: `Bearer ${data.secret}`, 'x-forwarded-uri': Q, 'x-original-uri': Q }, [
    ...envoyAllowed,
    'x-forwarded-uri',
    'x-original-uri',
  ]);
  t.equal(res.status, 403);
});

t.test('Istio: the provider sends what Envoy sends with includeRequestHeadersInCheck', async (t) => {
  const allowed = istio.includeRequestHeadersInCheck as string[];
  const res = await viaEnvoy('GET', Q, { authorization: `Bearer ${data.secret}`, 'user-agent': 'istio-test' }, allowed);
  t.equal(res.status, 200);
  t.equal(res.headers['x-tollgate-token-id'], data.token.id);
  const denied = await viaEnvoy('GET', Q, {}, allowed);
  t.equal(denied.status, 401);
  for (const name of istio.headersToDownstreamOnDeny as string[])
    t.ok(denied.headers[name] !== undefined || name === 'retry-after', `${name} is there for Istio to pass down`);
});

t.test('Envoy: a revoked token is refused on the next request', async (t) => {
  const token = await h.token(['query']);
  t.equal((await viaEnvoy('GET', Q, { authorization: `Bearer ${token.secret}` }, envoyAllowed)).status, 200);
  await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret);
  t.equal((await viaEnvoy('GET', Q, { authorization: `Bearer ${token.secret}` }, envoyAllowed)).status, 401);
});
