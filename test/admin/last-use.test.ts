import t, { type Test } from 'tap';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { startHarness } from '../helpers/harness.js';
import { proxyStatus as status } from '../helpers/proxy-status.js';

// A token's last use: time, address and User-Agent, written in the lastUsedAt batch, on both
// persistent stores.

const backends = await persistentBackends(t);

for (const [backend, open] of Object.entries(backends)) {
  t.test(`last use on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open(), config: { admin: { maxTokenLifetime: '' } } });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'] } });

    t.test('last use: time, address and User-Agent, written in the batch', async (t) => {
      const token = await h.token(['query']);
      t.equal(await status(h, token.secret, '/v1/repositories/sensors/data', { 'user-agent': 'sensor-fw/4.2' }), 200);
      await h.tollgate.flushLastUsed();
      const view = (await call(h, 'GET', `/v1/tokens/${token.token.id}`, admin)).body;
      t.equal(view.lastUsedIp, '127.0.0.1');
      t.equal(view.lastUsedUserAgent, 'sensor-fw/4.2');
      t.ok(view.lastUsedAt);
    });
  });
}
