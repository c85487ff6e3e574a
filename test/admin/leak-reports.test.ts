import t, { type Test } from 'tap';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { startHarness } from '../helpers/harness.js';
import { proxyStatus as status } from '../helpers/proxy-status.js';

// A leak report revokes the secrets it names, says only counts, and is budgeted per address
// (docs/tokens.md), on both persistent stores.

const backends = await persistentBackends(t);

for (const [backend, open] of Object.entries(backends)) {
  t.test(`leak reports on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open(), config: { admin: { maxTokenLifetime: '' } } });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'] } });

    t.test('leak reports revoke what they name, say only counts, and are budgeted per address', async (t) => {
      const leaked = await h.token(['query']);
      const other = await h.token(['query']);
      const res = await call(h, 'POST', '/v1/tokens/leaked', undefined, {
        secrets: [leaked.secret, 'tgr_nothing', `${other.secret.slice(0, -1)}${other.secret.endsWith('x') ? 'y' : 'x'}`],
      });
      t.equal(res.status, 200);
      t.same(res.body, { received: 3, revoked: 1 });
      t.equal(await status(h, leaked.secret), 401);
      t.equal(await status(h, other.secret), 200, 'a near miss revokes nothing');
      const history = (await call(h, 'GET', `/v1/tokens/${leaked.token.id}/history`, admin)).body.items;
      t.match(history.at(-1), { action: 'leaked', actor: 'leak-report' });
      t.same((await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: [leaked.secret] })).body, { received: 1, revoked: 0 }, 'already revoked');
      const many = Array.from({ length: 1000 }, () => 'tgr_x');
      const spent = await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: many });
      t.equal(spent.status, 429, 'over 1000 secrets a minute from one address');
      t.match(spent.headers['retry-after'], /^\d+$/);
      h.clock.advance(60_000);
      t.teardown(() => h.clock.advance(-60_000));
      t.equal((await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: many })).status, 200, 'a new minute, a new budget');
    });
  });
}
