import t from 'tap';
import { request } from 'undici';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import { bearer, startHarness } from '../helpers/harness.js';

// proxy.trustedProxies reloads (docs/configuration.md, "Reloading"): the next request's allowFrom
// check reads the client address through the proxies trusted now.
const h = await startHarness({});
t.teardown(() => h.close());
const withTrusted = (trustedProxies: string[]) =>
  validate(
    merge(DEFAULTS, {
      proxy: { listen: '127.0.0.1:0', upstream: h.upstream.origin, accessLog: false, trustedProxies },
      admin: { listen: '127.0.0.1:0' },
      store: { backend: 'memory' },
      log: { level: 'silent' },
    }),
  );
const send = async (secret: string) =>
  (await request(`${h.proxy}/v1/repositories/sensors/query`, { headers: { ...bearer(secret), 'x-forwarded-for': '10.1.2.3' } })).statusCode;

t.test('a proxy trusted by reload names the client for allowFrom from the next request', async (t) => {
  const token = await h.token(['query'], 'sensors', { allowFrom: ['10.0.0.0/8'] });
  t.equal(await send(token.secret), 403, 'the loopback peer is not in 10.0.0.0/8 and is trusted by no one');
  t.same(h.tollgate.reloader.apply(withTrusted(['127.0.0.1/32'])).applied, ['proxy.trustedProxies']);
  t.equal(await send(token.secret), 200, 'the loopback peer is a trusted proxy now: 10.1.2.3 is the client');
  h.tollgate.reloader.apply(withTrusted([]));
  t.equal(await send(token.secret), 403);
});
