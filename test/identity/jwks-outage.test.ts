import t from 'tap';
import { request } from 'undici';
import { KEYS_MAX_AGE_MS } from '../../src/identity/issuer-keys.js';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';
import { kubernetesClaims, startOidcIssuer } from '../helpers/oidc-issuer.js';

// The issuer's keys under outage, on a clock the test drives: cached JWTs never wait for the
// issuer, held keys serve for cache.staleIfError past their age, and then nothing verifies
// (503, never fail open). Unknown kids fetch at most once per 10 s.
const cluster = await startOidcIssuer('RS256');
const impostor = await startOidcIssuer('RS256');
t.teardown(() => Promise.all([cluster.close(), impostor.close()]));
const h = await startHarness({
  config: {
    cache: { staleIfError: '60s' },
    identity: { jwt: [{ issuer: cluster.issuer, audiences: ['tollgate'], user: 'sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}' }] },
  },
});
t.teardown(() => h.close());
const made = await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'sa-prod-producer', grants: { sensors: ['stream'] } });
if (made.status !== 201) throw new Error(`setup: ${made.status}`);

const send = async (jwt: string) => {
  const res = await request(`${h.proxy}/v1/repositories/sensors/stream`, { method: 'POST', headers: { authorization: `Bearer ${jwt}` }, body: 'x' });
  const text = await res.body.text();
  return { status: res.statusCode, retryAfter: res.headers['retry-after'], text };
};
const fresh = () => cluster.sign(kubernetesClaims('prod', 'producer'));

t.test('unknown kids fetch the keys at most once per 10 s', async (t) => {
  t.equal((await send(await fresh())).status, 200);
  h.clock.advance(10_001);
  const before = cluster.jwksFetches;
  for (let i = 0; i < 5; i++) {
    const ghost = await impostor.sign({ ...kubernetesClaims('prod', 'producer'), iss: cluster.issuer }, { kid: `ghost-${i}` });
    t.equal((await send(ghost)).status, 401);
  }
  t.equal(cluster.jwksFetches - before, 1, 'one fetch for five unknown kids');
});

t.test('while the issuer is down, cached JWTs and held keys keep serving', async (t) => {
  h.clock.advance(10_001);
  const cached = await fresh();
  t.equal((await send(cached)).status, 200);
  cluster.isUp = false;
  const fetches = cluster.jwksFetches;
  for (let i = 0; i < 5; i++) t.equal((await send(cached)).status, 200, 'a cached JWT never asks the issuer');
  t.equal((await send(await fresh())).status, 200, 'a new JWT verifies with the keys held');
  t.equal(cluster.jwksFetches, fetches);
});

t.test('keys past their age serve for staleIfError, then nothing verifies: 503, never fail open', async (t) => {
  h.clock.advance(KEYS_MAX_AGE_MS + 1_000);
  t.equal((await send(await fresh())).status, 200, 'stale but within staleIfError');
  h.clock.advance(60_000);
  const res = await send(await fresh());
  t.equal(res.status, 503);
  t.equal(res.retryAfter, '1');
  t.match(res.text, /keys could not be fetched/);
});

t.test('the issuer back: keys are fetched again and JWTs verify', async (t) => {
  cluster.isUp = true;
  h.clock.advance(10_001);
  t.equal((await send(await fresh())).status, 200);
});
