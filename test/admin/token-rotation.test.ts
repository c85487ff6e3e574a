import t, { type Test } from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { FakeClock } from '../helpers/fakes.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';

// Rolling a token: a new secret for the same token, with or without an overlap, what it lent, and
// selfRotate, a token that may roll itself and do nothing else (docs/tokens.md, "Rotation";
// docs/admin-api.md), on both persistent stores.

const HOUR = 3_600_000;
const backends = await persistentBackends(t);

async function status(h: Harness, secret: string): Promise<number> {
  const res = await request(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(secret) });
  await res.body.dump();
  return res.statusCode;
}

async function made(h: Harness, secret: string, body: Record<string, unknown>) {
  const res = await call(h, 'POST', '/v1/tokens', secret, { kind: 'repository', repository: 'sensors', rights: ['query'], ...body });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as {
    token: { id: string; name: string; status: string; rolledTo: string | null; expiresAt: string | null; labels: Record<string, string>; selfRotate: boolean };
    secret: string;
  };
}

for (const [backend, open] of Object.entries(backends)) {
  t.test(`token rotation on the ${backend} store`, async (t: Test) => {
    const clock = new FakeClock(Date.UTC(2026, 11, 3, 6, 0, 0));
    const h = await startHarness({ store: await open(), clock, config: { admin: { maxTokenLifetime: '' } } });
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
      t.same(
        listed.map((x) => x.id),
        [old.token.id],
        'status=rolled finds it',
      );
      const again = await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin, { overlap: '24h' });
      t.equal(again.status, 409, 'a rolled token is not rolled twice');
      t.match(again.body.detail, rolled.body.token.id);
      const next = await call(h, 'POST', `/v1/tokens/${rolled.body.token.id}/roll`, admin, { overlap: '24h' });
      t.equal(next.status, 201, 'the new one rolls again under the same name');
      t.equal(next.body.token.name, 'ci-loader');
    });

    t.test('roll with no overlap: a new secret for the same token, the old one revoked at once', async (t) => {
      const old = await h.token(['query'], 'sensors', { expiresIn: '10d' });
      const rolled = await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin);
      t.equal(rolled.status, 201);
      t.not(rolled.body.secret, old.secret);
      t.match(rolled.body.token, { name: old.token.name, repository: 'sensors', rights: ['query'], expiresAt: old.token.expiresAt, kind: 'repository' });
      t.equal(await status(h, old.secret), 401);
      t.equal(await status(h, rolled.body.secret), 200);
      const oldHistory = (await call(h, 'GET', `/v1/tokens/${old.token.id}/history`, admin)).body.items;
      t.match(oldHistory.at(-1), { action: 'rolled', changes: { rolledTo: { to: rolled.body.token.id }, status: { to: 'revoked' } } });
      const newHistory = (await call(h, 'GET', `/v1/tokens/${rolled.body.token.id}/history`, admin)).body.items;
      t.match(newHistory[0], { action: 'rolled', changes: { rolledFrom: { to: old.token.id } } });
      t.equal((await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin)).status, 409, 'only an active token rolls');
    });

    t.test('roll with an overlap: both secrets work until the old one expires', async (t) => {
      const old = await h.token(['query'], 'sensors');
      const rolled = await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin, { overlap: '1h' });
      t.equal(rolled.status, 201);
      t.equal(rolled.body.token.expiresAt, null, 'the remaining lifetime: none');
      t.equal(await status(h, old.secret), 200);
      t.equal(await status(h, rolled.body.secret), 200);
      const oldView = (await call(h, 'GET', `/v1/tokens/${old.token.id}`, admin)).body;
      t.equal(Date.parse(oldView.expiresAt), h.clock.now() + HOUR);
      h.clock.advance(HOUR);
      t.teardown(() => h.clock.advance(-HOUR)); // later tests in this harness keep their clock
      t.equal(await status(h, old.secret), 401, 'the old secret ends with the overlap');
      t.equal(await status(h, rolled.body.secret), 200);
      const tooLong = await call(h, 'POST', `/v1/tokens/${rolled.body.token.id}/roll`, admin, { overlap: '31d' });
      t.equal(tooLong.status, 400);
      t.match(tooLong.body.detail, /^overlap: expected at most 30d/);
    });

    t.test('the tokens a rolled token lent end with the old secret', async (t) => {
      const parent = (await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'lent', user: 'alice', repository: 'sensors', rights: ['query'] }))
        .body;
      const child = (
        await call(h, 'POST', '/v1/tokens', parent.secret, { kind: 'personal', name: 'child', user: 'alice', repository: 'sensors', rights: ['query'] })
      ).body;
      const rolled = (await call(h, 'POST', `/v1/tokens/${parent.token.id}/roll`, admin)).body;
      t.equal((await call(h, 'GET', `/v1/tokens/${child.token.id}`, admin)).body.parentId, parent.token.id, 'still bound to the secret that lent it');
      t.equal(await status(h, child.secret), 401, 'revoked with the old secret: no overlap left');
      t.equal(await status(h, rolled.secret), 200);
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
