import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
t.teardown(() => h.close());
const decision = `http://127.0.0.1:${h.tollgate.decisionPort}`;
const data = await h.token(['query', 'stream']);
const Q = '/v1/repositories/sensors/query';

async function ask(headers: Record<string, string>, path = '/auth', method = 'GET') {
  const res = await request(`${decision}${path}`, { method, headers });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    problem: text ? (JSON.parse(text) as { type: string; status: number; requestId: string }) : undefined,
  };
}
const forwarded = (method: string, uri: string, secret?: string) => ({
  'x-forwarded-method': method,
  'x-forwarded-uri': uri,
  ...(secret ? bearer(secret) : {}),
});

async function metric(name: string): Promise<number> {
  const text = await (await request(`${h.admin}/metrics`)).body.text();
  return Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('startTollgate reports the decision port; it is a third port of its own', async (t) => {
  t.type(h.tollgate.decisionPort, 'number');
  t.not(h.tollgate.decisionPort, h.tollgate.proxyPort);
  t.not(h.tollgate.decisionPort, h.tollgate.adminPort);
});

t.test('allowed: 200, empty body, identity headers, and nothing reaches the upstream', async (t) => {
  const res = await ask(forwarded('GET', Q, data.secret));
  t.equal(res.status, 200);
  t.equal(res.text, '');
  t.equal(res.headers['content-length'], '0');
  t.equal(res.headers['x-tollgate-token-id'], data.token.id);
  t.equal(res.headers['x-tollgate-repository'], 'sensors');
  t.equal(res.headers['x-tollgate-right'], 'query');
  t.equal(res.headers['x-tollgate-user'], undefined, 'a repository token has no user');
  t.equal(res.headers['x-envoy-auth-headers-to-remove'], 'authorization, x-tollgate-user', "Envoy takes the client's own off");
  t.equal(h.upstream.received.length, 0);
});

t.test('a personal token answers with its user', async (t) => {
  t.equal((await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'alice', grants: { sensors: ['query'] } })).status, 201);
  const personal = (
    await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'personal', name: 'p', user: 'alice', repository: 'sensors', rights: ['query'] })
  ).body as { secret: string };
  const res = await ask(forwarded('GET', Q, personal.secret));
  t.equal(res.status, 200);
  t.equal(res.headers['x-tollgate-user'], 'alice');
  t.equal(res.headers['x-envoy-auth-headers-to-remove'], 'authorization');
});

t.test('the method and target come from the forwarded headers, not the asking request', async (t) => {
  const stream = await ask(forwarded('POST', '/v1/repositories/sensors/stream', data.secret), '/anything', 'GET');
  t.equal(stream.status, 200);
  t.equal(stream.headers['x-tollgate-right'], 'stream');
  const del = await ask(forwarded('DELETE', Q, data.secret), Q, 'GET');
  t.equal(del.status, 403, 'DELETE needs delete, whatever the asking request was');
});

t.test('nginx: X-Original-Method and X-Original-URI', async (t) => {
  const res = await ask({ 'x-original-method': 'POST', 'x-original-uri': '/v1/repositories/sensors/stream', ...bearer(data.secret) });
  t.equal(res.status, 200);
  t.equal(res.headers['x-tollgate-right'], 'stream');
});

t.test('X-Forwarded-* take precedence over X-Original-*', async (t) => {
  const res = await ask({
    'x-forwarded-method': 'GET',
    'x-forwarded-uri': Q,
    'x-original-method': 'DELETE',
    'x-original-uri': '/v1/repositories/billing/x',
    ...bearer(data.secret),
  });
  t.equal(res.status, 200);
  t.equal(res.headers['x-tollgate-repository'], 'sensors');
});

t.test('no forwarded headers: the request itself is judged', async (t) => {
  t.equal((await ask(bearer(data.secret), Q)).status, 200);
  t.equal((await ask(bearer(data.secret), Q, 'PUT')).status, 403);
});

t.test('refusals carry the proxy port status, challenge and problem body', async (t) => {
  const none = await ask(forwarded('GET', Q));
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="tollgate"');
  t.equal(none.headers['content-type'], 'application/problem+json');
  t.equal(none.problem?.type, '/problems/missing-token');
  t.equal(none.problem?.requestId, none.headers['x-request-id']);

  const bad = await ask(forwarded('GET', Q, 'tgr_nope'));
  t.equal(bad.status, 401);
  t.equal(bad.headers['www-authenticate'], 'Bearer realm="tollgate", error="invalid_token"');

  const scope = await ask(forwarded('GET', '/v1/repositories/billing/query', data.secret));
  t.equal(scope.status, 403);
  t.equal(scope.headers['www-authenticate'], 'Bearer realm="tollgate", error="insufficient_scope"');
  t.equal(scope.problem?.type, '/problems/insufficient-scope');

  const route = await ask(forwarded('GET', '/nowhere', data.secret));
  t.equal(route.status, 404);
  t.equal(route.problem?.type, '/problems/no-route');

  const method = await ask(forwarded('OPTIONS', Q, data.secret));
  t.equal(method.status, 405);
  t.equal(method.problem?.type, '/problems/method-not-allowed');
});

t.test('each refusal is the one the proxy port gives for the same request', async (t) => {
  for (const [method, path, secret] of [
    ['GET', Q, undefined],
    ['GET', '/v1/repositories/billing/query', data.secret],
    ['OPTIONS', Q, data.secret],
    ['GET', '/nowhere', data.secret],
    ['GET', '/v1/repositories/sensors%2fquery', data.secret],
  ] as const) {
    // (No %2e%2e here: the WHATWG URL parser undici uses would read it as .. before sending.)
    const viaProxy = await request(`${h.proxy}${path}`, { method, headers: secret ? bearer(secret) : {} });
    const proxyBody = (await viaProxy.body.json()) as { type: string };
    const viaDecision = await ask(forwarded(method, path, secret));
    t.equal(viaDecision.status, viaProxy.statusCode, `${method} ${path}`);
    t.equal(viaDecision.problem?.type, proxyBody.type);
    t.equal(viaDecision.headers['www-authenticate'], viaProxy.headers['www-authenticate']);
  }
});

t.test('x-request-id is kept and returned, on answers and refusals', async (t) => {
  const allowed = await ask({ ...forwarded('GET', Q, data.secret), 'x-request-id': 'req-42' });
  t.equal(allowed.headers['x-request-id'], 'req-42');
  const refused = await ask({ ...forwarded('GET', Q), 'x-request-id': 'req-43' });
  t.equal(refused.headers['x-request-id'], 'req-43');
  t.equal(refused.problem?.requestId, 'req-43');
  const made = await ask(forwarded('GET', Q, data.secret));
  t.match(made.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'one is made when none came');
});

t.test('attacker-shaped questions get the documented refusal, never a crash', async (t) => {
  const cases: Array<[Record<string, string> | string[], number, string]> = [
    [forwarded('GET', 'http://evil.example/v1/repositories/billing/query', data.secret), 403, 'absolute-form is reduced to its path, then judged'],
    [forwarded('GET', 'http://evil.example/v1/repositories/sensors/query', data.secret), 200, 'absolute-form reduced'],
    [forwarded('GET', 'ftp://evil.example/x', data.secret), 400, 'a foreign form'],
    [forwarded('GET', '/v1/repositories/sensors/../billing/query', data.secret), 400, 'dot segments'],
    [forwarded('GET', '/v1/repositories/sensors%2fquery', data.secret), 400, 'encoded slash'],
    [forwarded('GET', '//evil.example/x', data.secret), 400, 'authority-looking path'],
    [forwarded('constructor', Q, data.secret), 405, 'a method named like a prototype member'],
    [forwarded('__proto__', Q, data.secret), 405, '__proto__'],
    [forwarded('get', Q, data.secret), 405, 'methods are case-sensitive'],
    [forwarded('CONNECT', Q, data.secret), 400, 'CONNECT'],
    [forwarded('WEBSOCKET', Q, data.secret), 400, 'the pseudo-method'],
    [{ ...forwarded('GET', Q, data.secret), 'x-forwarded-uri': '' }, 400, 'empty target'],
    [{ ...forwarded('GET', Q, data.secret), 'x-forwarded-method': '' }, 400, 'empty method'],
    [['x-forwarded-uri', Q, 'x-forwarded-uri', Q, 'authorization', `Bearer ${data.secret}`], 400, 'two targets'],
    [['x-forwarded-method', 'GET', 'x-forwarded-method', 'GET', 'x-forwarded-uri', Q, 'authorization', `Bearer ${data.secret}`], 400, 'two methods'],
    [forwarded('GET', `/${'a'.repeat(9000)}`, data.secret), 414, 'too long'],
  ];
  for (const [headers, status, what] of cases) {
    const res = await request(`${decision}/auth`, { headers });
    await res.body.dump();
    t.equal(res.statusCode, status, what);
  }
  t.equal((await request(`${h.admin}/healthz`)).statusCode, 200, 'still up');
});

t.test('an X-Forwarded-Method that is no token is refused as a bad method', async (t) => {
  const res = await ask(forwarded('GET POST', Q, data.secret));
  t.equal(res.status, 400);
  t.equal(res.problem?.type, '/problems/bad-method');
});

t.test('a question that the framing rejects gets a bare 400 and the connection closes', async (t) => {
  const res = await rawRequest(h.tollgate.decisionPort!, 'GET /auth HTTP/1.1\r\nHost: x\r\nX-Forwarded-Uri: /a\r\n X-Forwarded-Uri: /b\r\n\r\n');
  t.equal(res.status, 400, 'obs-fold is refused by the parser');
});

t.test('keep-alive: many questions on one connection are answered in order', async (t) => {
  const ask = (uri: string) =>
    `GET /auth HTTP/1.1\r\nHost: x\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Uri: ${uri}\r\nAuthorization: Bearer ${data.secret}\r\n\r\n`;
  const res = await rawRequest(
    h.tollgate.decisionPort!,
    ask(Q) + ask('/nowhere') + ask(Q).replace('GET /auth HTTP/1.1\r\n', 'GET /auth HTTP/1.1\r\nConnection: close\r\n'),
  );
  t.same(
    [...res.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])),
    [200, 404, 200],
  );
});

t.test('a revoked token is refused on the next question', async (t) => {
  const token = await h.token(['query']);
  t.equal((await ask(forwarded('GET', Q, token.secret))).status, 200);
  t.equal((await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret)).status, 200);
  const res = await ask(forwarded('GET', Q, token.secret));
  t.equal(res.status, 401);
  t.equal(res.problem?.type, '/problems/invalid-token');
});

t.test('an allowed question records lastUsedAt, as a forwarded request does', async (t) => {
  const token = await h.token(['query']);
  t.equal((await ask({ ...forwarded('GET', Q, token.secret), 'user-agent': 'nginx-check/1' })).status, 200);
  await h.tollgate.flushLastUsed();
  const record = await h.tollgate.store.getToken(token.token.id);
  t.equal(record?.lastUsedAt, h.clock.now());
  t.equal(record?.lastUsedUserAgent, 'nginx-check/1');
});

t.test('decision_requests_total counts answers by outcome, apart from requests_total', async (t) => {
  await metric('tollgate_decision_requests_total{outcome="allowed"}'); // a scrape takes in what came before
  const proxyBefore = (await metric('tollgate_requests_total{right="query",outcome="allowed",credential="token"}')) || 0;
  const before = {
    allowed: await metric('tollgate_decision_requests_total{outcome="allowed"}'),
    unauthenticated: await metric('tollgate_decision_requests_total{outcome="unauthenticated"}'),
    forbidden: await metric('tollgate_decision_requests_total{outcome="forbidden"}'),
    not_found: await metric('tollgate_decision_requests_total{outcome="not_found"}'),
  };
  await ask(forwarded('GET', Q, data.secret));
  await ask(forwarded('GET', Q, data.secret));
  await ask(forwarded('GET', Q));
  await ask(forwarded('GET', '/v1/repositories/billing/query', data.secret));
  await ask(forwarded('GET', '/nowhere', data.secret));
  t.equal(await metric('tollgate_decision_requests_total{outcome="allowed"}'), before.allowed + 2);
  t.equal(await metric('tollgate_decision_requests_total{outcome="unauthenticated"}'), before.unauthenticated + 1);
  t.equal(await metric('tollgate_decision_requests_total{outcome="forbidden"}'), before.forbidden + 1);
  t.equal(await metric('tollgate_decision_requests_total{outcome="not_found"}'), before.not_found + 1);
  t.equal(await metric('tollgate_decision_requests_total{outcome="unavailable"}'), 0, 'every outcome is exported from the start');
  t.equal(
    (await metric('tollgate_requests_total{right="query",outcome="allowed",credential="token"}')) || 0,
    proxyBefore,
    'the proxy port counts only its own',
  );
});

t.test('a public route is allowed without a token, and the identity headers are all marked for removal', async (t) => {
  const res = await ask(forwarded('GET', '/health'));
  t.equal(res.status, 200);
  t.equal(res.headers['x-tollgate-token-id'], undefined);
  t.equal(res.headers['x-envoy-auth-headers-to-remove'], 'authorization, x-tollgate-token-id, x-tollgate-repository, x-tollgate-user, x-tollgate-right');
});

t.test('a refused HEAD gets no body on either port, so the next answer on the connection stays framed', async (t) => {
  // Regression: the problem body followed a refusal to HEAD, and a keep-alive peer (nginx's
  // re-ask, Envoy asking with the original HEAD) read it as the start of the next response.
  const head = (port: number, target: string, extra = '') =>
    rawRequest(port, `HEAD ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\nGET ${target} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`);
  for (const [port, target, extra] of [
    [h.tollgate.proxyPort, Q, ''],
    [h.tollgate.decisionPort!, '/auth', `X-Forwarded-Method: HEAD\r\nX-Forwarded-Uri: ${Q}\r\n`],
  ] as const) {
    const res = await head(port, target, extra);
    const answers = res.text.split(/(?=HTTP\/1\.1 )/);
    t.equal(answers.length, 2, 'two answers');
    t.match(answers[0], /^HTTP\/1\.1 401 [\s\S]*content-length: \d+\r\n[\s\S]*\r\n\r\n$/, 'the HEAD answer ends at its head');
    t.match(answers[1], /^HTTP\/1\.1 401 [\s\S]*\r\n\r\n\{"status":401/, 'the GET answer has its body');
  }
});
