import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';

// A revoke that races an edit of the same token wins every time, on both persistent stores.
const backends = await persistentBackends(t);
for (const [backend, open] of Object.entries(backends)) {
  t.test(`on the ${backend} store a concurrent edit never undoes a revocation`, async (t) => {
    const r: Harness = await startHarness({ store: await open() });
    t.teardown(() => r.close());
    for (let round = 0; round < 30; round++) {
      const victim = await r.token(['admin', 'query'], 'sensors');
      // The token's own holder renames itself in a loop while an admin revokes it.
      const edits = Array.from({ length: 4 }, (_, i) => call(r, 'PATCH', `/v1/tokens/${victim.token.id}`, victim.secret, { name: `alive ${round}.${i}` }));
      const revoke = call(r, 'POST', `/v1/tokens/${victim.token.id}/revoke`, r.adminSecret);
      const [revoked] = await Promise.all([revoke, ...edits]);
      t.equal(revoked.status, 200);
      const stored = (await r.tollgate.store.getToken(victim.token.id))!;
      if (stored.status !== 'revoked') {
        t.fail(`round ${round}: the token ended ${stored.status}`);
        return;
      }
      const history = await r.tollgate.store.history(victim.token.id);
      t.equal(history.filter((e) => e.action === 'revoked').length, 1);
      const res = await request(`${r.proxy}/v1/repositories/sensors/x`, { headers: bearer(victim.secret) });
      await res.body.dump();
      t.equal(res.statusCode, 401);
    }
  });
}
