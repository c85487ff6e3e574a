import t, { type Test } from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';

const backends = await persistentBackends(t);

let named = 0;
const proxyStatus = async (h: Harness, secret: string, method = 'GET', path = '/v1/repositories/sensors/query') => {
  const res = await request(`${h.proxy}${path}`, { method: method as 'GET', headers: bearer(secret), body: method === 'POST' ? 'x' : undefined });
  await res.body.dump();
  return res.statusCode;
};

for (const [backend, open] of Object.entries(backends)) {
  t.test(`token lifecycle on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open() });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    const make = async (body: Record<string, unknown> = {}) =>
      (await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: `tok-${++named}`, repository: 'sensors', rights: ['query'], ...body })).body as {
        token: { id: string; prefix: string };
        secret: string;
      };

    t.test('revoke takes effect on the very next request, even for a cached token', async (t) => {
      const { token, secret } = await make();
      t.equal(await proxyStatus(h, secret), 200, 'cached now');
      const revoked = await call(h, 'POST', `/v1/tokens/${token.id}/revoke`, admin);
      t.equal(revoked.status, 200);
      t.equal(revoked.body.status, 'revoked');
      t.ok(revoked.body.revokedAt);
      t.equal(await proxyStatus(h, secret), 401);
      t.equal((await call(h, 'POST', `/v1/tokens/${token.id}/revoke`, admin)).status, 409);
    });

    t.test('restore brings a revoked token back; restoring an active one is 409', async (t) => {
      const { token, secret } = await make();
      await call(h, 'POST', `/v1/tokens/${token.id}/revoke`, admin);
      t.equal(await proxyStatus(h, secret), 401, 'the refusal is cached too');
      const restored = await call(h, 'POST', `/v1/tokens/${token.id}/restore`, admin);
      t.equal(restored.body.status, 'active');
      t.equal(restored.body.revokedAt, null);
      t.equal(await proxyStatus(h, secret), 200);
      t.equal((await call(h, 'POST', `/v1/tokens/${token.id}/restore`, admin)).status, 409);
    });

    t.test('delete only once revoked; history outlives the token', async (t) => {
      const { token } = await make();
      const active = await call(h, 'DELETE', `/v1/tokens/${token.id}`, admin);
      t.equal(active.status, 409);
      t.match(active.body.detail, /revoke it first/);
      await call(h, 'POST', `/v1/tokens/${token.id}/revoke`, admin);
      t.equal((await call(h, 'DELETE', `/v1/tokens/${token.id}`, admin)).status, 204);
      t.equal((await call(h, 'GET', `/v1/tokens/${token.id}`, admin)).status, 404);
      const history = await call(h, 'GET', `/v1/tokens/${token.id}/history`, admin);
      t.equal(history.status, 200);
      t.same(
        history.body.items.map((e: { action: string }) => e.action),
        ['created', 'revoked', 'deleted'],
      );
      t.match(history.body.items[1], { actor: /^token:/, changes: { status: { from: 'active', to: 'revoked' } } });
      t.equal((await call(h, 'GET', '/v1/tokens/0123456789abcdef/history', admin)).status, 404);
    });

    t.test('an expired token can be deleted without revoking', async (t) => {
      const { token } = await make({ expiresIn: '1h' });
      h.clock.advance(3_600_000);
      t.teardown(() => h.clock.advance(-3_600_000));
      t.equal((await call(h, 'GET', `/v1/tokens/${token.id}`, admin)).body.status, 'expired');
      t.equal((await call(h, 'DELETE', `/v1/tokens/${token.id}`, admin)).status, 204);
    });

    t.test('editing rights or expiry applies at once and is recorded with before and after', async (t) => {
      const { token, secret } = await make({ name: 'tok', rights: ['query', 'stream'], expiresIn: '30d' });
      t.equal(await proxyStatus(h, secret, 'POST', '/v1/repositories/sensors/stream'), 200);
      const edited = await call(h, 'PATCH', `/v1/tokens/${token.id}`, admin, { name: 'renamed', rights: ['query'], expiresAt: null });
      t.equal(edited.status, 200);
      t.match(edited.body, { name: 'renamed', rights: ['query'], expiresAt: null });
      t.equal(await proxyStatus(h, secret, 'POST', '/v1/repositories/sensors/stream'), 403);
      const history = await call(h, 'GET', `/v1/tokens/${token.id}/history`, admin);
      const change = history.body.items[1];
      t.equal(change.action, 'edited');
      t.same(change.changes.name, { from: 'tok', to: 'renamed' });
      t.same(change.changes.rights, { from: ['query', 'stream'], to: ['query'] });
      t.equal(change.changes.expiresAt.to, null);
      t.notOk(JSON.stringify(history.body).includes(secret.slice(12)), 'no secret in history');
    });

    t.test('a failed edit changes nothing', async (t) => {
      const { token } = await make();
      const before = await call(h, 'GET', `/v1/tokens/${token.id}`, admin);
      const bad = await call(h, 'PATCH', `/v1/tokens/${token.id}`, admin, { rights: ['fly'], name: 'x' });
      t.equal(bad.status, 400);
      t.match(bad.body.errors, [{ field: 'rights.0' }]);
      t.equal((await call(h, 'PATCH', `/v1/tokens/${token.id}`, admin, {})).status, 400);
      t.equal((await call(h, 'PATCH', `/v1/tokens/${token.id}`, admin, { expiresAt: '2001-01-01T00:00:00Z' })).status, 400);
      t.same((await call(h, 'GET', `/v1/tokens/${token.id}`, admin)).body, before.body);
      t.equal((await call(h, 'GET', `/v1/tokens/${token.id}/history`, admin)).body.items.length, 1);
    });

    t.test('bulk delete removes what it may and says why for the rest', async (t) => {
      const revoked = await make();
      await call(h, 'POST', `/v1/tokens/${revoked.token.id}/revoke`, admin);
      const active = await make();
      const scoped = await h.token(['admin'], 'sensors');
      const billing = await make({ repository: 'billing' });
      await call(h, 'POST', `/v1/tokens/${billing.token.id}/revoke`, admin);
      const ids = [revoked.token.id, active.token.id, 'ffffffffffffffff', billing.token.id];
      const res = await call(h, 'POST', '/v1/tokens/delete', scoped.secret, { ids });
      t.equal(res.status, 200);
      t.same(res.body.deleted, [revoked.token.id]);
      t.same(res.body.failed, [
        { id: active.token.id, reason: 'active' },
        { id: 'ffffffffffffffff', reason: 'not_found' },
        { id: billing.token.id, reason: 'forbidden' },
      ]);
      t.equal((await call(h, 'POST', '/v1/tokens/delete', admin, { ids: [] })).status, 400);
    });

    t.test('users: create, read, replace grants, delete', async (t) => {
      const created = await call(h, 'POST', '/v1/users', admin, { name: 'carol', grants: { sensors: ['query'] } });
      t.equal(created.status, 201);
      t.same(created.body.grants, { sensors: ['query'] });
      t.equal((await call(h, 'POST', '/v1/users', admin, { name: 'carol' })).status, 409);
      const badGrant = await call(h, 'POST', '/v1/users', admin, { name: 'dave', grants: { nowhere: ['query'] } });
      t.equal(badGrant.status, 400);
      t.match(badGrant.body.detail, /grants\.nowhere: no repository named nowhere/);
      t.equal((await call(h, 'GET', '/v1/users/carol', admin)).body.name, 'carol');
      t.ok((await call(h, 'GET', '/v1/users', admin)).body.items.some((u: { name: string }) => u.name === 'carol'));
      const patched = await call(h, 'PATCH', '/v1/users/carol', admin, { grants: { '*': ['query', 'stream'] } });
      t.same(patched.body.grants, { '*': ['query', 'stream'] });
      t.equal((await call(h, 'DELETE', '/v1/users/carol', admin)).status, 204);
      t.equal((await call(h, 'GET', '/v1/users/carol', admin)).status, 404);
      const scoped = await h.token(['admin'], 'sensors');
      t.equal((await call(h, 'POST', '/v1/users', scoped.secret, { name: 'eve' })).status, 403, 'only * admins manage users');
    });

    t.test('personal tokens: QR and connect URI, rights limited by grants, grant changes apply at once', async (t) => {
      await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query', 'stream'] } });
      const created = await call(h, 'POST', '/v1/tokens', admin, {
        kind: 'personal',
        name: 'phone',
        user: 'alice',
        repository: '*',
        rights: ['query', 'stream', 'delete'],
      });
      t.equal(created.status, 201);
      const { secret, token, connectUri, qr } = created.body;
      t.match(secret, /^tgp_/);
      t.equal(connectUri, `tollgate://127.0.0.1:8080?token=${secret}`);
      const QRCode = (await import('qrcode')).default;
      const svg = await QRCode.toString(connectUri, { type: 'svg' });
      t.equal(qr, `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`);
      t.match(Buffer.from(qr.split(',')[1], 'base64').toString(), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\n?$/);
      t.equal(token.user, 'alice');

      t.equal(await proxyStatus(h, secret), 200);
      t.equal(await proxyStatus(h, secret, 'DELETE', '/v1/repositories/sensors/x'), 403, 'delete is on the token but not granted');
      t.equal(await proxyStatus(h, secret, 'GET', '/v1/repositories/billing/x'), 403, 'no grant on billing');
      const seen = h.upstream.received.at(-1)!; // the 403s never reached it
      t.equal(seen.headers['x-tollgate-user'], 'alice');

      await call(h, 'PATCH', '/v1/users/alice', admin, { grants: { sensors: ['stream'] } });
      t.equal(await proxyStatus(h, secret), 403, 'taking a grant away takes it from the token at once');
      t.equal(await proxyStatus(h, secret, 'POST', '/v1/repositories/sensors/stream'), 200);
    });

    t.test('a personal token without admin manages only its own user personal tokens, no wider than itself', async (t) => {
      await call(h, 'POST', '/v1/users', admin, { name: 'bob', grants: { sensors: ['query', 'stream'], billing: ['query'] } });
      await call(h, 'POST', '/v1/users', admin, { name: 'zed', grants: { sensors: ['query'] } });
      const own = (
        await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'laptop', user: 'bob', repository: 'sensors', rights: ['query', 'stream'] })
      ).body;
      const other = (await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'z', user: 'zed', repository: 'sensors', rights: ['query'] })).body;
      const mine = await call(h, 'POST', '/v1/tokens', own.secret, {
        kind: 'personal',
        name: 'for a colleague',
        user: 'bob',
        repository: 'sensors',
        rights: ['query'],
      });
      t.equal(mine.status, 201);
      t.equal(mine.body.token.createdBy, 'bob');
      const wider = await call(h, 'POST', '/v1/tokens', own.secret, { kind: 'personal', name: 'x', user: 'bob', repository: 'sensors', rights: ['delete'] });
      t.equal(wider.status, 403);
      t.match(wider.body.detail, /^rights: delete exceed/);
      t.equal(
        (await call(h, 'POST', '/v1/tokens', own.secret, { kind: 'personal', name: 'x', user: 'bob', repository: 'billing', rights: ['query'] })).status,
        403,
      );
      t.equal(
        (await call(h, 'POST', '/v1/tokens', own.secret, { kind: 'personal', name: 'x', user: 'zed', repository: 'sensors', rights: ['query'] })).status,
        403,
      );
      t.equal((await call(h, 'POST', '/v1/tokens', own.secret, { kind: 'repository', name: 'x', repository: 'sensors', rights: ['query'] })).status, 403);
      const listed = await call(h, 'GET', '/v1/tokens', own.secret);
      t.ok(listed.body.items.length >= 2);
      t.ok(listed.body.items.every((item: { user: string }) => item.user === 'bob'));
      t.equal((await call(h, 'GET', `/v1/tokens/${other.token.id}`, own.secret)).status, 403);
      t.equal((await call(h, 'POST', `/v1/tokens/${mine.body.token.id}/revoke`, own.secret)).status, 200);
      t.equal((await call(h, 'POST', `/v1/tokens/${mine.body.token.id}/restore`, own.secret)).status, 200);
      t.equal((await call(h, 'POST', `/v1/tokens/${other.token.id}/revoke`, own.secret)).status, 403);
      t.equal((await call(h, 'DELETE', `/v1/tokens/${mine.body.token.id}`, own.secret)).status, 403, 'deleting needs admin');
      t.equal((await call(h, 'GET', '/v1/users/bob', own.secret)).status, 200, 'a user reads their own grants');
      t.equal((await call(h, 'GET', '/v1/users/zed', own.secret)).status, 403);
    });

    t.test('deleting a user revokes their personal tokens', async (t) => {
      await call(h, 'POST', '/v1/users', admin, { name: 'frank', grants: { sensors: ['query'] } });
      const token = (await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'p', user: 'frank', repository: 'sensors', rights: ['query'] })).body;
      t.equal(await proxyStatus(h, token.secret), 200);
      t.equal((await call(h, 'DELETE', '/v1/users/frank', admin)).status, 204);
      t.equal((await call(h, 'GET', `/v1/tokens/${token.token.id}`, admin)).body.status, 'revoked');
      t.equal(await proxyStatus(h, token.secret), 401);
    });

    t.test('a repository with active tokens cannot be deleted; the refusal counts them', async (t) => {
      await call(h, 'POST', '/v1/repositories', admin, { name: 'tmp' });
      const a = await make({ repository: 'tmp' });
      await make({ repository: 'tmp' });
      const refused = await call(h, 'DELETE', '/v1/repositories/tmp', admin);
      t.equal(refused.status, 409);
      t.match(refused.body.detail, /still has 2 active tokens/);
      await call(h, 'POST', `/v1/tokens/${a.token.id}/revoke`, admin);
      t.match((await call(h, 'DELETE', '/v1/repositories/tmp', admin)).body.detail, /still has 1 active token;/);
      t.equal((await call(h, 'DELETE', '/v1/repositories/nowhere', admin)).status, 404);
    });
  });
}
