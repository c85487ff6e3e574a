import t from 'tap';
import { request } from 'undici';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';
import { kubernetesClaims, startOidcIssuer } from '../helpers/oidc-issuer.js';
import { waitFor } from '../helpers/wait-for.js';

// identity.jwt reloads (docs/configuration.md, "Reloading"): a replica started with no issuer
// takes one in without a restart, and one taken out refuses its JWTs once they leave the cache.
const cluster = await startOidcIssuer('RS256');
t.teardown(() => cluster.close());
const h = await startHarness({ config: { cache: { ttl: '1s' } } });
t.teardown(() => h.close());
const made = await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'sa-prod-producer', grants: { sensors: ['stream'] } });
if (made.status !== 201) throw new Error(`setup: ${made.status}`);

const withIssuers = (jwt: unknown[]) =>
  validate(
    merge(DEFAULTS, {
      proxy: { listen: '127.0.0.1:0', upstream: h.upstream.origin, accessLog: false },
      admin: { listen: '127.0.0.1:0' },
      store: { backend: 'memory' },
      log: { level: 'silent' },
      cache: { ttl: '1s' },
      identity: { jwt },
    }),
  );
const ISSUER = () => ({ issuer: cluster.issuer, audiences: ['tollgate'], user: 'sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}' });
const send = async (jwt: string) =>
  (await request(`${h.proxy}/v1/repositories/sensors/stream`, { method: 'POST', headers: { authorization: `Bearer ${jwt}` }, body: 'x' })).statusCode;

t.test('an issuer added by reload verifies its JWTs; taken out, they are refused once the cache lets go', async (t) => {
  const jwt = await cluster.sign(kubernetesClaims('prod', 'producer'));
  t.equal(await send(jwt), 401, 'no issuer configured yet');
  t.same(h.tollgate.reloader.apply(withIssuers([ISSUER()])).applied, ['identity.jwt']);
  await waitFor(async () => (await send(jwt)) === 200, { what: 'the JWT to be accepted under the new issuer' });
  t.equal(h.upstream.received.at(-1)!.headers['x-tollgate-user'], 'sa-prod-producer');
  h.tollgate.reloader.apply(withIssuers([]));
  h.clock.advance(2000);
  await waitFor(async () => (await send(jwt)) === 401, { what: 'the JWT to be refused without its issuer' });
  t.pass('refused');
});
