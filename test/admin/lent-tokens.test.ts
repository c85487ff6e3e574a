import t, { type Test } from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { FakeClock } from '../helpers/fakes.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';

// Independent and lent tokens (docs/tokens.md, "Independent and lent tokens"): a token an admin makes
// belongs to its repository or user and outlives its maker; a lent token (self-service, made by
// a lent token, or `"lend": true`) never outlives, outreaches or outspends its maker, and a lent
// caller changes only its own line. On both persistent stores.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const backends = await persistentBackends(t);

async function status(h: Harness, secret: string): Promise<number> {
  const res = await request(`${h.proxy}/v1/repositories/sensors/x`, { headers: bearer(secret) });
  await res.body.dump();
  return res.statusCode;
}

// Names are unique per repository: each gets a number of its own.
let named = 0;

async function made(h: Harness, secret: string, body: Record<string, unknown>) {
  const res = await call(h, 'POST', '/v1/tokens', secret, {
    kind: 'repository',
    repository: 'sensors',
    ...body,
    name: `${String(body.name ?? 'made')} ${++named}`,
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { token: { id: string; lent: boolean; parentId: string | null; expiresAt: string | null; createdBy: string }; secret: string };
}

for (const [backend, open] of Object.entries(backends)) {
  t.test(`independent and lent tokens on the ${backend} store`, async (t: Test) => {
    const clock = new FakeClock(Date.UTC(2026, 11, 3, 6, 0, 0));
    const h = await startHarness({ store: await open(), clock });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    const adminId = (await call(h, 'GET', '/v1/whoami', admin)).body.token.id as string;
    await call(h, 'POST', '/v1/users', admin, { name: 'dave', grants: { sensors: ['query', 'stream'] } });

    t.test('a token an admin makes outlives its maker: revoking, deleting or expiring the maker changes nothing', async (t) => {
      const maker = await made(h, admin, { name: 'scoped admin', rights: ['admin', 'query'], expiresIn: '1h' });
      const kept = await made(h, maker.secret, { name: 'production', rights: ['query'] });
      t.equal(kept.token.lent, false);
      t.equal(kept.token.parentId, null, 'bound to no token');
      t.equal(kept.token.createdBy, `token:${maker.token.id}`, 'createdBy still names the maker');
      t.equal(kept.token.expiresAt, null, "not held to the maker's expiry");
      const expiring = await made(h, maker.secret, { name: 'expiring', rights: ['query'], expiresIn: '1d' });
      t.equal((await call(h, 'POST', `/v1/tokens/${maker.token.id}/revoke`, admin)).status, 200);
      t.equal(await status(h, kept.secret), 200, 'still serves after its maker is revoked');
      t.equal((await call(h, 'DELETE', `/v1/tokens/${maker.token.id}`, admin)).status, 204);
      t.equal((await call(h, 'GET', `/v1/tokens/${kept.token.id}`, admin)).body.status, 'active', 'and after it is deleted');
      const history = (await call(h, 'GET', `/v1/tokens/${kept.token.id}/history`, admin)).body.items as Array<{ action: string }>;
      t.same(
        history.map((e) => e.action),
        ['created'],
        'nothing happened to it',
      );
      clock.advance(2 * HOUR);
      t.teardown(() => clock.advance(-2 * HOUR));
      t.equal(await status(h, expiring.secret), 200, 'and after the maker would have expired');
    });

    t.test('an admin that expires in 30 days makes a token that expires in 30 days', async (t) => {
      const demo = await made(h, admin, { name: 'thirty-day admin', rights: ['admin', 'query'], expiresIn: '30d' });
      clock.advance(60_000);
      t.teardown(() => clock.advance(-60_000));
      const res = await call(h, 'POST', '/v1/tokens', demo.secret, {
        kind: 'repository',
        name: 'thirty days',
        repository: 'sensors',
        rights: ['query'],
        expiresIn: '30d',
      });
      t.equal(res.status, 201, JSON.stringify(res.body));
      t.equal(Date.parse(res.body.token.expiresAt), clock.now() + 30 * DAY);
    });

    t.test('"lend": true makes a lent token: its maker\'s expiry, revoked with its maker, restored only while the maker is active', async (t) => {
      const maker = await made(h, admin, { name: 'lender', rights: ['admin', 'query'], expiresIn: '2d' });
      const lent = await made(h, maker.secret, { name: 'for a week', rights: ['query'], lend: true });
      t.equal(lent.token.lent, true);
      t.equal(lent.token.parentId, maker.token.id);
      t.equal(lent.token.expiresAt, maker.token.expiresAt, "no expiry asked: its maker's");
      const longer = await call(h, 'POST', '/v1/tokens', maker.secret, {
        kind: 'repository',
        name: 'x',
        repository: 'sensors',
        rights: ['query'],
        lend: true,
        expiresIn: '3d',
      });
      t.equal(longer.status, 403);
      t.match(longer.body.detail, /^expiresIn: must be no later than/);
      t.equal((await call(h, 'POST', `/v1/tokens/${maker.token.id}/revoke`, admin)).status, 200);
      t.equal(await status(h, lent.secret), 401, 'the loan ends with its maker');
      const history = (await call(h, 'GET', `/v1/tokens/${lent.token.id}/history`, admin)).body.items as Array<{
        action: string;
        actor: string;
        reason?: string;
      }>;
      t.match(
        history.at(-1),
        { action: 'revoked', actor: `token:${adminId}`, reason: `its maker ${maker.token.id} was revoked` },
        'history names the actor and the cascade',
      );
      t.equal((await call(h, 'POST', `/v1/tokens/${lent.token.id}/restore`, admin)).status, 409, 'not while its maker is revoked');
      t.equal((await call(h, 'POST', `/v1/tokens/${maker.token.id}/restore`, admin)).status, 200);
      t.equal((await call(h, 'POST', `/v1/tokens/${lent.token.id}/restore`, admin)).status, 200, 'once the maker is back');
    });

    t.test('a lent admin token rolls nothing outside its own line, and what it rolls of its line ends with the loan', async (t) => {
      const owner = await made(h, admin, { name: 'owner', rights: ['admin', 'query', 'modify'] });
      const production = await made(h, admin, { name: 'production', rights: ['query', 'modify'], expiresIn: '2d' });
      const lent = await made(h, owner.secret, { name: 'lent for an hour', rights: ['admin', 'query', 'modify'], expiresIn: '1h', lend: true });
      const roll = await call(h, 'POST', `/v1/tokens/${production.token.id}/roll`, lent.secret, { overlap: '30d' });
      t.equal(roll.status, 403, 'a production token is not of its line');
      t.match(roll.body.detail, /line/);
      t.equal(await status(h, production.secret), 200);
      const owners = await call(h, 'POST', `/v1/tokens/${owner.token.id}/roll`, lent.secret, { overlap: '30d' });
      t.equal(owners.status, 403, 'nor is its maker');
      const longer = await call(h, 'PATCH', `/v1/tokens/${production.token.id}`, lent.secret, { expiresAt: null });
      t.equal(longer.status, 403, 'nor lengthens what is not of its line');
      t.match(longer.body.detail, /^expiresAt: a lent token may change this only on tokens of its own line/);
      const wider = await call(h, 'PATCH', `/v1/tokens/${production.token.id}`, lent.secret, { rights: ['query', 'modify', 'admin'] });
      t.equal(wider.status, 403, 'nor widens it');
      t.equal((await call(h, 'PATCH', `/v1/tokens/${production.token.id}`, lent.secret, { name: 'renamed' })).status, 200, 'a new name hands out nothing');

      const self = await call(h, 'POST', `/v1/tokens/${lent.token.id}/roll`, lent.secret, { overlap: '30d' });
      t.equal(self.status, 201, 'it may roll itself');
      t.equal(self.body.token.lent, true, 'the new secret is lent too');
      t.equal(self.body.token.parentId, owner.token.id);
      t.equal(self.body.token.expiresAt, lent.token.expiresAt, 'with the same expiry');
      const child = await made(h, self.body.secret, { name: 'child', rights: ['query'] });
      t.equal(child.token.lent, true, 'what a lent token makes is lent');
      t.equal(child.token.parentId, self.body.token.id);
      t.equal((await call(h, 'POST', `/v1/tokens/${child.token.id}/roll`, self.body.secret, { overlap: '1h' })).status, 201, 'and its own line it rolls');
      t.equal((await call(h, 'POST', `/v1/tokens/${production.token.id}/revoke`, lent.secret)).status, 200, 'revoking is never bounded');

      clock.advance(HOUR);
      t.teardown(() => clock.advance(-HOUR));
      t.equal(await status(h, self.body.secret), 401, 'the rolled secret ends with the loan');
      t.equal(await status(h, child.secret), 401);
    });

    t.test('a lent * admin cannot roll the token that lent it, nor change users, teams or repositories', async (t) => {
      const lent = await made(h, admin, { name: 'lent star', repository: '*', rights: ['admin', 'query'], expiresIn: '1h', lend: true });
      const res = await call(h, 'POST', `/v1/tokens/${adminId}/roll`, lent.secret, { overlap: '30d' });
      t.equal(res.status, 403);
      const grants = await call(h, 'PATCH', '/v1/users/dave', lent.secret, { grants: { '*': ['admin', 'query'] } });
      t.equal(grants.status, 403, 'a grant would outlive the loan');
      t.match(grants.body.detail, /a lent token changes no users, teams or repositories/);
      t.equal((await call(h, 'PATCH', '/v1/repositories/sensors', lent.secret, { limits: null })).status, 403);
      t.equal((await call(h, 'POST', '/v1/teams', lent.secret, { name: 'loaners', members: ['dave'], grants: {} })).status, 403);
      t.equal((await call(h, 'GET', '/v1/users/dave', lent.secret)).status, 200, 'reading is not bounded');
    });

    t.test('self-service makes lent tokens', async (t) => {
      const personal = (await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'phone', user: 'dave', repository: 'sensors', rights: ['query'] }))
        .body;
      t.equal(personal.token.lent, false, 'an admin made it: independent');
      const child = (
        await call(h, 'POST', '/v1/tokens', personal.secret, { kind: 'personal', name: 'tablet', user: 'dave', repository: 'sensors', rights: ['query'] })
      ).body;
      t.equal(child.token.lent, true);
      t.equal(child.token.parentId, personal.token.id);
      t.equal((await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: [personal.secret] })).body.revoked, 1);
      t.equal(await status(h, child.secret), 401, 'a leak report of the maker ends the loan');
    });

    t.test("a roll with no overlap ends its maker's loans; with an overlap they end when the overlap does", async (t) => {
      const owner = await made(h, admin, { name: 'owner', rights: ['admin', 'query'] });
      const lent = await made(h, owner.secret, { name: 'lent', rights: ['query'], lend: true });
      const rolled = await call(h, 'POST', `/v1/tokens/${owner.token.id}/roll`, admin);
      t.equal(rolled.status, 201);
      t.equal(await status(h, lent.secret), 401, 'no overlap left: revoked with the old secret');
      const history = (await call(h, 'GET', `/v1/tokens/${lent.token.id}/history`, admin)).body.items as Array<{ action: string; reason?: string }>;
      t.match(history.at(-1), { action: 'revoked', reason: `its maker ${owner.token.id} was rolled with no overlap` });

      const other = await made(h, admin, { name: 'other owner', rights: ['admin', 'query'] });
      const lentToo = await made(h, other.secret, { name: 'lent too', rights: ['query'], lend: true });
      t.equal((await call(h, 'POST', `/v1/tokens/${other.token.id}/roll`, admin, { overlap: '1h' })).status, 201);
      t.equal(Date.parse((await call(h, 'GET', `/v1/tokens/${lentToo.token.id}`, admin)).body.expiresAt), clock.now() + HOUR, 'held to the overlap');
    });
  });
}
