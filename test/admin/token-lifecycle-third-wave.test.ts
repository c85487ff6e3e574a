import t, { type Test } from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { FakeClock } from '../helpers/fakes.js';
import { bearer, startHarness, type Harness } from '../helpers/harness.js';

// Rotation people can do safely, unique names, labels and selfRotate (docs/tokens.md, "Rotation",
// "Names", "Labels"; docs/admin-api.md), on both persistent stores.

const HOUR = 3_600_000;
const backends = await persistentBackends(t);

async function status(h: Harness, secret: string): Promise<number> {
  const res = await request(`${h.proxy}/v1/repositories/sensors/x`, { headers: bearer(secret) });
  await res.body.dump();
  return res.statusCode;
}

async function made(h: Harness, secret: string, body: Record<string, unknown>) {
  const res = await call(h, 'POST', '/v1/tokens', secret, { kind: 'repository', repository: 'sensors', rights: ['query'], ...body });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { token: { id: string; name: string; status: string; rolledTo: string | null; expiresAt: string | null; labels: Record<string, string>; selfRotate: boolean }; secret: string };
}

for (const [backend, open] of Object.entries(backends)) {
  t.test(`rotation, names, labels and selfRotate on the ${backend} store`, async (t: Test) => {
    const clock = new FakeClock(Date.UTC(2026, 11, 3, 6, 0, 0));
    const h = await startHarness({ store: await open(), clock });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'] } });

    t.test('a token rolled with an overlap reads rolled, names its successor, and works until the overlap ends', async (t) => {
      const old = await made(h, admin, { name: 'ci-loader', expiresIn: '30d' });
      const rolled = await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin, { overlap: '24h' });
      t.equal(rolled.status, 201);
      const view = (await call(h, 'GET', `/v1/tokens/${old.token.id}`, admin)).body;
      t.equal(view.status, 'rolled');
      t.equal(view.rolledTo, rolled.body.token.id);
      t.equal(view.expiresAt, new Date(clock.now() + 24 * HOUR).toISOString(), 'until the overlap ends');
      t.equal(view.name, 'ci-loader', 'it keeps its name');
      t.equal(rolled.body.token.name, 'ci-loader');
      t.equal(await status(h, old.secret), 200, 'the old secret still works');
      const listed = (await call(h, 'GET', '/v1/tokens?status=rolled', admin)).body.items as Array<{ id: string }>;
      t.same(listed.map((x) => x.id), [old.token.id], 'status=rolled finds it');
      const again = await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin, { overlap: '24h' });
      t.equal(again.status, 409, 'a rolled token is not rolled twice');
      t.match(again.body.detail, rolled.body.token.id);
      const next = await call(h, 'POST', `/v1/tokens/${rolled.body.token.id}/roll`, admin, { overlap: '24h' });
      t.equal(next.status, 201, 'the new one rolls again under the same name');
      t.equal(next.body.token.name, 'ci-loader');
    });

    t.test('names are unique per repository: a second create or a rename to a taken name is a 409 naming name', async (t) => {
      await made(h, admin, { name: 'laptop-a' });
      const twice = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'laptop-a', repository: 'sensors', rights: ['query'] });
      t.equal(twice.status, 409);
      t.equal(twice.body.type, '/problems/conflict');
      t.match(twice.body.detail, /^name: repository sensors already has a token named "laptop-a"/);
      const elsewhere = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'laptop-a', repository: 'billing', rights: ['query'] });
      t.equal(elsewhere.status, 201, 'another repository is another scope');
      const other = await made(h, admin, { name: 'laptop-b' });
      const rename = await call(h, 'PATCH', `/v1/tokens/${other.token.id}`, admin, { name: 'laptop-a' });
      t.equal(rename.status, 409);
      t.match(rename.body.detail, /^name: /);
    });

    t.test('a revoked token keeps its name until it is deleted', async (t) => {
      const gone = await made(h, admin, { name: 'phone' });
      await call(h, 'POST', `/v1/tokens/${gone.token.id}/revoke`, admin);
      t.equal((await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'phone', repository: 'sensors', rights: ['query'] })).status, 409);
      t.equal((await call(h, 'DELETE', `/v1/tokens/${gone.token.id}`, admin)).status, 204);
      t.equal((await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'phone', repository: 'sensors', rights: ['query'] })).status, 201);
    });

    t.test('personal token names are unique per user', async (t) => {
      const first = await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', user: 'alice', name: 'laptop', rights: ['query'] });
      t.equal(first.status, 201);
      const second = await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', user: 'alice', name: 'laptop', repository: 'sensors', rights: ['query'] });
      t.equal(second.status, 409, 'another repository, the same user');
      t.match(second.body.detail, /^name: user alice already has a token named "laptop"/);
    });

    t.test('two creates of one name at once: exactly one is made', async (t) => {
      const body = { kind: 'repository', name: 'raced', repository: 'sensors', rights: ['query'] };
      const replies = await Promise.all([1, 2, 3].map(() => call(h, 'POST', '/v1/tokens', admin, body)));
      t.same(replies.map((r) => r.status).sort(), [201, 409, 409]);
    });

    t.test('labels are shown, searched by q and filtered by label=key=value; they never authorize', async (t) => {
      const labelled = await made(h, admin, { name: 'scraper', labels: { owner: 'team-a', pipeline: 'nightly' } });
      t.same(labelled.token.labels, { owner: 'team-a', pipeline: 'nightly' });
      const byLabel = (await call(h, 'GET', '/v1/tokens?label=owner%3Dteam-a', admin)).body.items as Array<{ id: string }>;
      t.same(byLabel.map((x) => x.id), [labelled.token.id]);
      const byQ = (await call(h, 'GET', '/v1/tokens?q=nightly', admin)).body.items as Array<{ id: string }>;
      t.same(byQ.map((x) => x.id), [labelled.token.id]);
      const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
      const refused = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'many', repository: 'sensors', rights: ['query'], labels: tooMany });
      t.equal(refused.status, 400);
      t.match(refused.body.detail, /labels: expected at most 16 labels/);
      const edited = await call(h, 'PATCH', `/v1/tokens/${labelled.token.id}`, admin, { labels: { owner: 'team-b' } });
      t.same(edited.body.labels, { owner: 'team-b' }, 'an edit replaces them');
      const history = (await call(h, 'GET', `/v1/tokens/${labelled.token.id}/history`, admin)).body.items as Array<{ action: string; changes: Record<string, unknown> }>;
      t.ok(history.at(-1)!.changes.labels, 'the history records the change');
    });

    t.test('selfRotate lets a token roll itself without admin, and nothing else', async (t) => {
      const unattended = await made(h, admin, { name: 'producer', selfRotate: true, expiresIn: '7d' });
      const plain = await made(h, admin, { name: 'plain' });
      t.equal((await call(h, 'POST', `/v1/tokens/${plain.token.id}/roll`, plain.secret, {})).status, 403, 'without selfRotate: no');
      t.equal((await call(h, 'POST', `/v1/tokens/${plain.token.id}/roll`, unattended.secret, {})).status, 403, 'not another token');
      t.equal((await call(h, 'GET', '/v1/tokens', unattended.secret)).status, 403, 'no other admin route');
      t.equal((await call(h, 'PATCH', `/v1/tokens/${unattended.token.id}`, unattended.secret, { expiresIn: '30d' })).status, 403, 'no edit of itself');
      const rolled = await call(h, 'POST', `/v1/tokens/${unattended.token.id}/roll`, unattended.secret, { overlap: '1h' });
      t.equal(rolled.status, 201, JSON.stringify(rolled.body));
      t.equal(rolled.body.token.selfRotate, true, 'the new token may roll itself too');
      t.equal(rolled.body.token.expiresAt, unattended.token.expiresAt, 'no later expiry');
      t.same(rolled.body.token.rights, ['query'], 'no wider rights');
      t.equal(await status(h, rolled.body.secret), 200);
      const history = (await call(h, 'GET', `/v1/tokens/${unattended.token.id}/history`, admin)).body.items as Array<{ action: string; actor: string }>;
      t.match(history.at(-1), { action: 'rolled', actor: `token:${unattended.token.id}` });
    });

    t.test('a token does not change its own allowFrom or selfRotate', async (t) => {
      const scoped = await made(h, admin, { name: 'scoped admin', rights: ['admin', 'query'], allowFrom: ['127.0.0.0/8'] });
      const own = await call(h, 'PATCH', `/v1/tokens/${scoped.token.id}`, scoped.secret, { allowFrom: [] });
      t.equal(own.status, 403);
      t.match(own.body.detail, /^allowFrom: a token cannot change its own allowFrom/);
      t.equal((await call(h, 'PATCH', `/v1/tokens/${scoped.token.id}`, scoped.secret, { selfRotate: true })).status, 403);
    });
  });
}
