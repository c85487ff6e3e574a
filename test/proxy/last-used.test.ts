import t from 'tap';
import { request } from 'undici';
import { CountingStore } from '../helpers/fakes.js';
import { bearer, startHarness } from '../helpers/harness.js';

t.test('a hundred requests with one token make one lastUsedAt write, not one per request', async (t) => {
  const store = new CountingStore();
  const h = await startHarness({ store });
  const token = await h.token(['query']);
  for (let i = 0; i < 100; i++) {
    const res = await request(`${h.proxy}/v1/repositories/sensors/query`, { headers: bearer(token.secret) });
    t.equal(res.statusCode, 200);
    await res.body.dump();
  }
  t.equal(store.touchCalls, 0, 'nothing written on the request path');
  await h.close(); // shutdown flushes what is pending
  t.equal(store.touchCalls, 1);
  t.equal((await store.getToken(token.token.id))?.lastUsedAt, h.clock.now());
});
