import fc from 'fast-check';
import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';
import { kubernetesClaims, startOidcIssuer } from '../helpers/oidc-issuer.js';

// Generated attacks on signed tokens, against a real issuer and the proxy port: whatever is
// changed in a signed token, and whichever audience or issuer it names that is not configured,
// it is refused.
const cluster = await startOidcIssuer('ES256');
t.teardown(() => cluster.close());
const h = await startHarness({
  config: {
    identity: { jwt: [{ issuer: cluster.issuer, audiences: ['tollgate'], user: 'sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}' }] },
  },
});
t.teardown(() => h.close());
const made = await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'sa-prod-producer', grants: { sensors: ['stream', 'query'] } });
if (made.status !== 201) throw new Error(`setup: ${made.status}`);

const STREAM = `${h.proxy}/v1/repositories/sensors/stream`;
const statusOf = async (jwt: string) => {
  const res = await request(STREAM, { method: 'POST', headers: { authorization: `Bearer ${jwt}` }, body: 'x' });
  await res.body.dump();
  return res.statusCode;
};
const genuine = await cluster.sign(kubernetesClaims('prod', 'producer'));

t.test('the genuine token is accepted (what the properties below change)', async (t) => {
  t.equal(await statusOf(genuine), 200);
});

t.test('any byte of the header, payload or signature changed: refused', async (_t) => {
  const parts = genuine.split('.').map((part) => Buffer.from(part, 'base64url'));
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (part, at, flip) => {
      const bytes = Buffer.from(parts[part]!);
      bytes[at % bytes.length]! ^= flip;
      const tampered = parts.map((p, i) => (i === part ? bytes : p).toString('base64url')).join('.');
      return (await statusOf(tampered)) === 401;
    }),
    { numRuns: 150 },
  );
});

t.test('a token is never accepted for an audience it does not name', async (_t) => {
  const audience = fc.string({ minLength: 1, maxLength: 20 }).filter((aud) => aud !== 'tollgate');
  await fc.assert(
    fc.asyncProperty(fc.oneof(audience, fc.array(audience, { minLength: 1, maxLength: 4 })), async (aud) => {
      const jwt = await cluster.sign({ ...kubernetesClaims('prod', 'producer'), aud });
      return (await statusOf(jwt)) === 401;
    }),
    { numRuns: 60 },
  );
});

t.test('a token is never accepted from an issuer that is not configured, even signed with a trusted key', async (_t) => {
  const iss = fc
    .oneof(fc.string({ maxLength: 30 }), fc.webUrl(), fc.constant(`${cluster.issuer}/`), fc.constant(cluster.issuer.toUpperCase()))
    .filter((value) => value !== cluster.issuer);
  await fc.assert(
    fc.asyncProperty(iss, async (issuer) => {
      const jwt = await cluster.sign({ ...kubernetesClaims('prod', 'producer'), iss: issuer });
      return (await statusOf(jwt)) === 401;
    }),
    { numRuns: 60 },
  );
});
