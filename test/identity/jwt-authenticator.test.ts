import * as jose from 'jose';
import t from 'tap';
import { TokenCache } from '../../src/auth/token-cache.js';
import { JwtAuthenticator } from '../../src/identity/jwt-authenticator.js';
import { CountingStore, FakeClock, RecordingObserver } from '../helpers/fakes.js';
import { kubernetesClaims, startOidcIssuer } from '../helpers/oidc-issuer.js';

// The authenticator alone, on a fake clock, with jose's verify counted: what is cached, what is
// checked once, and when a cached JWT stops standing for its user.
const cluster = await startOidcIssuer('ES256');
t.teardown(() => cluster.close());

async function setup() {
  const store = new CountingStore();
  await store.putUser({ name: 'sa-prod-producer', grants: { sensors: ['stream'] }, createdAt: 0, updatedAt: 0 });
  const clock = new FakeClock(Date.now());
  const slot = { principalOf: (hash: string) => jwt?.principalOf(hash) };
  const cache = new TokenCache({
    store,
    clock,
    observer: new RecordingObserver(),
    principals: slot,
    max: 100,
    ttlMs: 30_000,
    negativeMax: 10,
    negativeTtlMs: 5_000,
    staleIfErrorMs: 60_000,
  });
  const counted = { verifies: 0 };
  const wrapped = {
    ...jose,
    jwtVerify: ((...args: Parameters<typeof jose.jwtVerify>) => {
      counted.verifies++;
      return jose.jwtVerify(...args);
    }) as typeof jose.jwtVerify,
  };
  const jwt: JwtAuthenticator = new JwtAuthenticator({
    issuers: [
      {
        issuer: cluster.issuer,
        audiences: ['tollgate'],
        jwksUri: '',
        algorithms: ['ES256'],
        clockSkew: 30_000,
        user: 'sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}',
        teams: '',
      },
    ],
    jose: wrapped,
    cache,
    clock,
    fetch,
    max: 100,
    negativeMax: 10,
    negativeTtlMs: 5_000,
    staleIfErrorMs: 60_000,
  });
  return { jwt, clock, counted, store };
}

t.test('concurrent first requests with one JWT verify it once; later ones are answered synchronously', async (t) => {
  const { jwt, clock, counted } = await setup();
  const token = await cluster.sign(kubernetesClaims('prod', 'producer'));
  const results = await Promise.all(Array.from({ length: 10 }, () => jwt.authenticate(token, clock.now())));
  t.ok(results.every((result) => typeof result === 'object' && result.record.user === 'sa-prod-producer'));
  t.equal(counted.verifies, 1);
  const cached = jwt.authenticate(token, clock.now());
  t.notOk(cached instanceof Promise, 'a cached JWT allocates no promise');
  t.equal(counted.verifies, 1);
});

t.test('past cache.ttl the signature is checked again; at exp the cached JWT stands for nobody', async (t) => {
  const { jwt, clock, counted } = await setup();
  const nowS = Math.floor(clock.now() / 1000);
  const token = await cluster.sign(kubernetesClaims('prod', 'producer'), { nowS, expiresInS: 20 }); // good until 50 s with the skew
  t.type(await jwt.authenticate(token, clock.now()), 'object');
  clock.advance(31_000);
  t.type(await jwt.authenticate(token, clock.now()), 'object');
  t.equal(counted.verifies, 2, 'verified again after the TTL');
  clock.advance(20_000); // 51 s: past exp + clockSkew, the entry read at 31 s still fresh
  t.equal(jwt.authenticate(token, clock.now()), 'jwt_expired', 'refused from the cache, before any new check');
});

t.test('a refused JWT is remembered: a flood of one bad token costs one check', async (t) => {
  const { jwt, clock, counted } = await setup();
  const token = await cluster.sign(kubernetesClaims('prod', 'producer', 'elsewhere'));
  t.equal(await jwt.authenticate(token, clock.now()), 'jwt_wrong_audience');
  for (let i = 0; i < 10; i++) t.equal(jwt.authenticate(token, clock.now()), 'jwt_wrong_audience');
  t.equal(counted.verifies, 1);
});
