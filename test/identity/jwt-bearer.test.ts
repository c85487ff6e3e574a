import { SignJWT } from 'jose';
import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';
import { kubernetesClaims, startOidcIssuer } from '../helpers/oidc-issuer.js';

// A Kubernetes projected service-account token verified against a real issuer served over HTTP
// (discovery, then the JWK Set), acting as the user its claims map to.
const cluster = await startOidcIssuer('RS256');
const oidc = await startOidcIssuer('ES256', '/realms/corp');
t.teardown(() => Promise.all([cluster.close(), oidc.close()]));

const h = await startHarness({
  config: {
    identity: {
      jwt: [
        { issuer: cluster.issuer, audiences: ['tollgate'], user: 'sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}' },
        { issuer: oidc.issuer, audiences: ['tollgate-api'], teams: 'groups' },
      ],
    },
  },
});
t.teardown(() => h.close());
const admin = h.adminSecret;
// Set up before any assertion: an assertion at the top level before the subtests would end the root test early.
for (const [path, body] of [
  ['/v1/users', { name: 'sa-prod-producer', grants: { sensors: ['stream', 'query'] } }],
  ['/v1/users', { name: 'carol', grants: {} }],
  ['/v1/teams', { name: 'billing-readers', members: [], grants: { billing: ['query'] } }],
] as const) {
  const made = await call(h, 'POST', path, admin, body);
  if (made.status !== 201) throw new Error(`setup ${path}: ${made.status}`);
}

const STREAM = `${h.proxy}/v1/repositories/sensors/stream`;

async function send(url: string, jwt: string, method = 'POST') {
  const res = await request(url, { method: method as 'POST', headers: { authorization: `Bearer ${jwt}` }, body: method === 'GET' ? undefined : 'x' });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, body: /json/.test(String(res.headers['content-type'])) ? JSON.parse(text) : text };
}

t.test("a projected service-account token acts as the user its claims name, with that user's grants", async (t) => {
  const jwt = await cluster.sign(kubernetesClaims('prod', 'producer'));
  const res = await send(STREAM, jwt);
  t.equal(res.status, 200);
  const seen = h.upstream.received.at(-1)!;
  t.equal(seen.headers['x-tollgate-user'], 'sa-prod-producer');
  t.equal(seen.headers['x-tollgate-repository'], 'sensors');
  t.equal(seen.headers.authorization, undefined, 'the JWT is not forwarded');
  t.equal((await send(`${h.proxy}/v1/repositories/billing/stream`, jwt)).status, 403, 'no grant on billing: insufficient scope');
  t.equal((await send(`${h.proxy}/v1/repositories/sensors/x`, jwt, 'DELETE')).status, 403, 'no delete right granted');
});

t.test('a cached JWT is answered without fetching keys again', async (t) => {
  const jwt = await cluster.sign(kubernetesClaims('prod', 'producer'));
  t.equal((await send(STREAM, jwt)).status, 200);
  const fetches = cluster.jwksFetches;
  for (let i = 0; i < 20; i++) t.equal((await send(STREAM, jwt)).status, 200);
  t.equal(cluster.jwksFetches, fetches);
});

t.test('every refusal is a 401 invalid_token whose detail says which check failed and never holds the token', async (t) => {
  const other = await startOidcIssuer('RS256');
  t.teardown(() => other.close());
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, Promise<string>, RegExp]> = [
    ['wrong audience', cluster.sign(kubernetesClaims('prod', 'producer', 'vault')), /audience/],
    ['unknown issuer', other.sign(kubernetesClaims('prod', 'producer')), /issuer/],
    ['expired', cluster.sign(kubernetesClaims('prod', 'producer'), { nowS: now - 7200, expiresInS: 60 }), /expired/],
    ['not yet valid', cluster.sign({ ...kubernetesClaims('prod', 'producer'), nbf: now + 600 }), /not yet valid/],
    ['unmapped user', cluster.sign(kubernetesClaims('prod', 'nobody')), /no existing user/],
    ['no user claims at all', cluster.sign({ aud: 'tollgate', sub: 'x' }), /no existing user/],
  ];
  for (const [what, pending, detail] of cases) {
    const jwt = await pending;
    const res = await send(STREAM, jwt);
    t.equal(res.status, 401, what);
    t.match(res.headers['www-authenticate'], /error="invalid_token"/, what);
    t.match(res.body.detail, detail, what);
    t.notOk(res.text.includes(jwt.split('.')[2]!), `${what}: the body never echoes the token`);
  }
  // Signed by a key the issuer never published, under the kid of one it did.
  const forged = await other.sign({ ...kubernetesClaims('prod', 'producer'), iss: cluster.issuer }, { kid: other.currentKid });
  const [header] = (await cluster.sign(kubernetesClaims('prod', 'producer'))).split('.');
  const [, payload, signature] = forged.split('.');
  const res = await send(STREAM, `${header}.${payload}.${signature}`);
  t.equal(res.status, 401);
  t.match(res.body.detail, /signature/);
});

t.test("unsigned and HMAC tokens are refused, even an HMAC keyed with the issuer's published key", async (t) => {
  const claims = { ...kubernetesClaims('prod', 'producer'), iss: cluster.issuer, exp: Math.floor(Date.now() / 1000) + 600 };
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
  t.equal((await send(STREAM, unsigned)).status, 401, 'alg none');
  // The classic confusion: the public JWK set used as an HMAC secret.
  const published = Buffer.from(JSON.stringify(await (await fetch(`${cluster.issuer}/keys`)).json()));
  const confused = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: cluster.currentKid }).sign(published);
  const res = await send(STREAM, confused);
  t.equal(res.status, 401, 'HS256');
  t.match(res.body.detail, /signature/);
});

t.test('an OIDC token maps {sub} to a user and its groups claim to existing teams', async (t) => {
  const jwt = await oidc.sign({ aud: ['other', 'tollgate-api'], sub: 'carol', groups: ['billing-readers', 'no-such-team'] });
  t.equal((await send(`${h.proxy}/v1/repositories/billing/data`, jwt, 'GET')).status, 200, 'the team named in the claim grants query on billing');
  t.equal((await send(`${h.proxy}/v1/repositories/sensors/data`, jwt, 'GET')).status, 403, 'carol holds nothing on sensors');
  const lone = await oidc.sign({ aud: 'tollgate-api', sub: 'carol' });
  t.equal((await send(`${h.proxy}/v1/repositories/billing/data`, lone, 'GET')).status, 403, 'without the claim, no team grant');
});

t.test('a key rotated at the issuer is picked up without a refused request', async (t) => {
  const before = await cluster.sign(kubernetesClaims('prod', 'producer'));
  t.equal((await send(STREAM, before)).status, 200);
  // The refresh on an unknown kid waits out the 10 s gate since the last fetch.
  h.clock.advance(11_000);
  await cluster.rotate();
  const after = await cluster.sign(kubernetesClaims('prod', 'producer'));
  t.equal((await send(STREAM, after)).status, 200, 'the new kid is fetched and accepted');
  t.equal((await send(STREAM, before)).status, 200, 'tokens under the old key still verify while it is published');
});

t.test('the credential label counts JWT requests apart from token requests', async (t) => {
  const res = await request(`${h.admin}/metrics`);
  const text = await res.body.text();
  t.match(text, /tollgate_requests_total\{right="stream",outcome="allowed",credential="jwt"\} \d+/);
  t.match(text, /tollgate_requests_total\{right="none",outcome="unauthenticated",credential="jwt"\} \d+/);
});

t.test('disabling the user refuses its JWT at once; enabling it lets it through again', async (t) => {
  const jwt = await cluster.sign(kubernetesClaims('prod', 'producer'));
  t.equal((await send(STREAM, jwt)).status, 200);
  const disabled = await call(h, 'PATCH', '/v1/users/sa-prod-producer', admin, { disabled: true });
  t.equal(disabled.status, 200);
  t.equal(disabled.body.disabled, true);
  const res = await send(STREAM, jwt);
  t.equal(res.status, 401);
  t.match(res.body.detail, /disabled/);
  t.equal((await call(h, 'PATCH', '/v1/users/sa-prod-producer', admin, { disabled: false })).body.disabled, false);
  t.equal((await send(STREAM, jwt)).status, 200);
});
