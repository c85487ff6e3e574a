import type { Test } from 'tap';
import type { Invalidation, TokenStore } from '../../src/store/token-store.js';
import { entry, makeToken } from '../helpers/records.js';
import { waitFor } from '../helpers/wait-for.js';

/** The behaviour every TokenStore backend promises; run unchanged against each one. */
export function storeContract(t: Test, makeStore: () => Promise<TokenStore>): void {
  let store: TokenStore;
  t.beforeEach(async () => {
    store = await makeStore();
  });
  t.afterEach(async () => {
    await store.close();
  });

  t.test('a created token is found by id with every field intact', async (t) => {
    const { record } = makeToken({ expiresAt: 1_800_000_000_000, user: null });
    t.equal(await store.createToken(record, entry('created')), true);
    t.same(await store.getToken(record.id), record);
  });

  t.test('an unknown id finds nothing', async (t) => {
    t.equal(await store.getToken('0123456789abcdef'), undefined);
  });

  t.test('creating a second token with a taken id is refused and changes nothing', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    t.equal(await store.createToken({ ...record, name: 'other' }, entry('created')), false);
    t.equal((await store.getToken(record.id))?.name, record.name);
    t.equal((await store.history(record.id)).length, 1);
  });

  t.test('racing creates of one id: exactly one wins', async (t) => {
    const { record } = makeToken();
    const results = await Promise.all([1, 2, 3, 4].map(() => store.createToken(record, entry('created'))));
    t.equal(results.filter(Boolean).length, 1);
  });

  t.test('an update replaces the record and appends history in order', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created', 1));
    const revoked = { ...record, status: 'revoked' as const, revokedAt: 5 };
    t.equal(await store.updateToken(revoked, entry('revoked', 2)), true);
    t.same(await store.getToken(record.id), revoked);
    t.same((await store.history(record.id)).map((e) => e.action), ['created', 'revoked']);
  });

  t.test('updating a missing token is refused and creates nothing', async (t) => {
    const { record } = makeToken();
    t.equal(await store.updateToken(record, entry('edited')), false);
    t.equal(await store.getToken(record.id), undefined);
  });

  t.test('a deleted token is gone but its history stays', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created', 1));
    t.equal(await store.deleteToken(record.id, entry('deleted', 2)), true);
    t.equal(await store.getToken(record.id), undefined);
    t.same((await store.history(record.id)).map((e) => e.action), ['created', 'deleted']);
    t.equal(await store.deleteToken(record.id, entry('deleted', 3)), false);
    t.same([...(await store.listTokens())], []);
  });

  t.test('list returns every token', async (t) => {
    const a = makeToken().record;
    const b = makeToken({ kind: 'personal', user: 'alice' }).record;
    await store.createToken(a, entry('created'));
    await store.createToken(b, entry('created'));
    const ids = [...(await store.listTokens())].map((r) => r.id).sort();
    t.same(ids, [a.id, b.id].sort());
  });

  t.test('list reflects updates, deletes and lastUsedAt', async (t) => {
    const a = makeToken().record;
    const b = makeToken().record;
    await store.createToken(a, entry('created'));
    await store.createToken(b, entry('created'));
    await store.updateToken({ ...a, name: 'renamed' }, entry('edited'));
    await store.deleteToken(b.id, entry('deleted'));
    await store.touchLastUsed(new Map([[a.id, 7]]));
    const all = [...(await store.listTokens())];
    t.same(all.map((r) => [r.id, r.name, r.lastUsedAt]), [[a.id, 'renamed', 7]]);
  });

  t.test('counts by kind and status follow creates, revokes, expiry and deletes', async (t) => {
    const count = async (now: number) =>
      Object.fromEntries((await store.countTokens(now)).filter((c) => c.count !== 0).map((c) => [`${c.kind}:${c.status}`, c.count]));
    const a = makeToken().record;
    const b = makeToken({ expiresAt: 5000 }).record;
    const c = makeToken({ kind: 'personal', user: 'alice' }).record;
    for (const record of [a, b, c]) await store.createToken(record, entry('created'));
    t.same(await count(1000), { 'repository:active': 2, 'personal:active': 1 });
    t.same(await count(5000), { 'repository:active': 1, 'repository:expired': 1, 'personal:active': 1 });
    await store.updateToken({ ...a, status: 'revoked' }, entry('revoked'));
    await store.updateToken({ ...b, expiresAt: null }, entry('edited'));
    t.same(await count(5000), { 'repository:active': 1, 'repository:revoked': 1, 'personal:active': 1 });
    await store.deleteToken(a.id, entry('deleted'));
    await store.deleteToken(c.id, entry('deleted'));
    t.same(await count(5000), { 'repository:active': 1 });
  });

  t.test('lastUsedAt moves forward only, and touching a missing token creates nothing', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    await store.touchLastUsed(new Map([[record.id, 2000], ['ffffffffffffffff', 3000]]));
    t.equal((await store.getToken(record.id))?.lastUsedAt, 2000);
    await store.touchLastUsed(new Map([[record.id, 1000]]));
    t.equal((await store.getToken(record.id))?.lastUsedAt, 2000);
    t.equal(await store.getToken('ffffffffffffffff'), undefined);
    t.same((await store.history(record.id)).length, 1, 'use is not a change in history');
  });

  t.test('repositories are created once, listed and deleted', async (t) => {
    const repo = { name: 'sensors', createdAt: 1, createdBy: 'tester' };
    t.equal(await store.createRepository(repo), true);
    t.equal(await store.createRepository({ ...repo, createdBy: 'other' }), false);
    t.same(await store.getRepository('sensors'), repo);
    t.same(await store.listRepositories(), [repo]);
    t.equal(await store.deleteRepository('sensors'), true);
    t.equal(await store.getRepository('sensors'), undefined);
    t.equal(await store.deleteRepository('sensors'), false);
  });

  t.test('users are stored with their grants, replaced and deleted', async (t) => {
    const alice = { name: 'alice', grants: { sensors: ['query' as const] }, createdAt: 1, updatedAt: 1 };
    await store.putUser(alice);
    t.same(await store.getUser('alice'), alice);
    const changed = { ...alice, grants: { sensors: ['query' as const, 'stream' as const] }, updatedAt: 2 };
    await store.putUser(changed);
    t.same(await store.listUsers(), [changed]);
    t.equal(await store.deleteUser('alice'), true);
    t.equal(await store.getUser('alice'), undefined);
  });

  t.test('a published invalidation reaches a subscriber', async (t) => {
    const seen: Invalidation[] = [];
    store.subscribe({ onMessage: (m) => seen.push(m), onReset: () => {} });
    // Redis subscribes asynchronously: publish until the subscription is live.
    const message: Invalidation = { at: 42, type: 'tokens', ids: ['abc'] };
    await waitFor(
      async () => {
        await store.publish(message);
        return seen.length > 0;
      },
      { what: 'the invalidation to arrive', everyMs: 20 },
    );
    t.same(seen[0], message);
  });

  t.test('ping answers while the store is up', async (t) => {
    await t.resolves(store.ping());
  });

  t.test('records handed out cannot change what is stored', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    const got = (await store.getToken(record.id))!;
    got.rights.push('admin');
    record.rights.push('delete');
    t.same((await store.getToken(record.id))?.rights, ['query', 'stream']);
  });
}
