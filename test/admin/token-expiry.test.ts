import t, { type Test } from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { type Harness, startHarness } from '../helpers/harness.js';

// Tokens expiring soon (the list filter and the gauge) and admin.maxTokenLifetime, the cap on
// every expiry set through the API.

const metricLine = async (h: Harness, pattern: RegExp) => pattern.exec(await (await request(`${h.admin}/metrics`)).body.text())?.[1];

const backends = await persistentBackends(t);

for (const [backend, open] of Object.entries(backends)) {
  t.test(`expiring soon on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open(), config: { admin: { maxTokenLifetime: '' } } });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'] } });

    t.test('expiring soon: the list filter and the gauge', async (t) => {
      const soon = await h.token(['query'], 'sensors', { expiresIn: '2d' });
      await h.token(['query'], 'sensors', { expiresIn: '30d' });
      const list = await call(h, 'GET', '/v1/tokens?expiresWithin=3d&limit=500', admin);
      t.equal(list.status, 200);
      t.ok(list.body.items.some((item: { id: string }) => item.id === soon.token.id));
      t.ok(
        list.body.items.every(
          (item: { expiresAt: string; status: string }) => item.status === 'active' && Date.parse(item.expiresAt) <= h.clock.now() + 3 * 86_400_000,
        ),
      );
      const gauge = Number(await metricLine(h, /^tollgate_tokens_expiring_soon\{kind="repository"\} (\d+)$/m));
      t.ok(gauge >= 1, `gauge ${gauge}`);
      t.equal((await call(h, 'GET', '/v1/tokens?expiresWithin=soon', admin)).status, 400);
    });
  });
}

t.test('admin.maxTokenLifetime caps every expiry set through the API', async (t) => {
  const h = await startHarness({ config: { admin: { maxTokenLifetime: '30d' } } });
  t.teardown(() => h.close());
  const none = await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'repository', name: 'x', repository: 'sensors', rights: ['query'] });
  t.equal(Date.parse(none.body.token.expiresAt), h.clock.now() + 30 * 86_400_000, 'no expiry becomes the maximum');
  const beyond = await call(h, 'POST', '/v1/tokens', h.adminSecret, {
    kind: 'repository',
    name: 'x',
    repository: 'sensors',
    rights: ['query'],
    expiresIn: '31d',
  });
  t.equal(beyond.status, 400);
  t.match(beyond.body.detail, /^expiresIn: must be within admin\.maxTokenLifetime/);
  const edit = await call(h, 'PATCH', `/v1/tokens/${none.body.token.id}`, h.adminSecret, { expiresAt: null });
  t.equal(Date.parse(edit.body.expiresAt), h.clock.now() + 30 * 86_400_000, 'nor by an edit');
});
