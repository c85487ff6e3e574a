import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import type { EventLog, OutEvent } from '../../src/store/event-log.js';
import type {
  BudgetStore,
  Directory,
  Invalidation,
  Invalidations,
  Leases,
  StoreHealth,
  TokenRecords,
  TokenStore,
  UsageStore,
} from '../../src/store/token-store.js';
import { entry, makeToken } from '../helpers/records.js';
import { waitFor } from '../helpers/wait-for.js';
import { organizationContract } from './organization-contract.js';

/** Last uses at the given times, from one address. */
const uses = (pairs: Array<[string, number]>) => new Map(pairs.map(([id, at]) => [id, { at, ip: '10.0.0.1', userAgent: 'test/1' }]));

/** Makes a fresh store of one backend for each test. */
type Make<Role> = () => Promise<Role & Pick<StoreHealth, 'close' | 'backend'>>;

/**
 * The behaviour every TokenStore backend promises, one section per role (src/store/roles/); run
 * unchanged against each backend.
 */
export function storeContract(t: Test, makeStore: () => Promise<TokenStore>): void {
  t.test('tokens and history', async (t) => tokensContract(t, makeStore));
  t.test('the directory', async (t) => directoryContract(t, makeStore));
  t.test('invalidation pub/sub', async (t) => invalidationsContract(t, makeStore));
  t.test('budget counters', async (t) => budgetsContract(t, makeStore));
  t.test('the event log and webhook queues', async (t) => eventsContract(t, makeStore));
  t.test('usage history', async (t) => usageContract(t, makeStore));
  t.test('leases', async (t) => leasesContract(t, makeStore));
  t.test('health', async (t) => healthContract(t, makeStore));
}

/** Tokens and their history (TokenRecords). */
function tokensContract(t: Test, makeStore: Make<TokenRecords>): void {
  let store!: Awaited<ReturnType<Make<TokenRecords>>>;
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

  t.test("a token's limits are kept, and cleared by an update", async (t) => {
    const limits = { rate: { requests: 50, per: '1s' }, quota: { bytes: 10 * 1024 ** 3, per: '1d' }, streams: 2 };
    const { record } = makeToken({ limits });
    await store.createToken(record, entry('created', 1));
    t.same((await store.getToken(record.id))?.limits, limits);
    await store.updateToken({ ...record, limits: null }, entry('edited', 2), 1);
    t.notOk((await store.getToken(record.id))?.limits, 'no limits of its own');
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
    t.equal(await store.updateToken(revoked, entry('revoked', 2), 1), 'written');
    t.same(await store.getToken(record.id), { ...revoked, version: 2 }, 'the store sets the next version');
    t.same(
      (await store.history(record.id)).map((e) => e.action),
      ['created', 'revoked'],
    );
  });

  t.test('updating a missing token is refused and creates nothing', async (t) => {
    const { record } = makeToken();
    t.equal(await store.updateToken(record, entry('edited'), 1), 'missing');
    t.equal(await store.getToken(record.id), undefined);
  });

  t.test('a deleted token is gone but its history stays', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created', 1));
    t.equal(await store.deleteToken(record.id, entry('deleted', 2), 1), 'written');
    t.equal(await store.getToken(record.id), undefined);
    t.same(
      (await store.history(record.id)).map((e) => e.action),
      ['created', 'deleted'],
    );
    t.equal(await store.deleteToken(record.id, entry('deleted', 3), 1), 'missing');
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

  t.test('getTokens reads full records in the order asked, undefined where gone', async (t) => {
    const a = makeToken().record;
    const b = makeToken({ kind: 'personal', user: 'alice' }).record;
    const c = makeToken().record;
    for (const record of [a, b, c]) await store.createToken(record, entry('created'));
    await store.updateToken({ ...a, name: 'renamed', rights: ['stream'] }, entry('edited'), 1);
    await store.deleteToken(c.id, entry('deleted'), 1);
    t.same(await store.getTokens([]), []);
    const got = await store.getTokens([b.id, 'nosuchtoken', a.id, c.id]);
    t.equal(got.length, 4);
    t.same(got[0], b);
    t.equal(got[1], undefined);
    t.same(got[2], { ...a, name: 'renamed', rights: ['stream'], version: 2 });
    t.equal(got[3], undefined);
    t.same(await store.getTokens([a.id]), [await store.getToken(a.id)], 'the same record getToken reads');
  });

  t.test('the list holds what search, sort and visibility read', async (t) => {
    const record = makeToken({ kind: 'personal', user: 'alice', expiresAt: 9000 }).record;
    await store.createToken(record, entry('created'));
    await store.touchLastUsed(uses([[record.id, 7]]));
    const listed = [...(await store.listTokens())].find((r) => r.id === record.id)!;
    const fields = ['id', 'kind', 'name', 'prefix', 'repository', 'user', 'status', 'createdAt', 'expiresAt', 'lastUsedAt', 'parentId'] as const;
    t.same(
      fields.map((field) => listed[field]),
      fields.map((field) => (field === 'lastUsedAt' ? 7 : record[field])),
    );
  });

  t.test('rolledTo, selfRotate, allowFrom and labels are kept, and the list holds rolledTo and labels', async (t) => {
    const { record } = makeToken({
      rolledTo: '0123456789abcdef',
      selfRotate: true,
      allowFrom: ['10.0.0.0/8', '::1/128'],
      labels: { owner: 'team-a', 'cost/centre': '42' },
    });
    await store.createToken(record, entry('created'));
    t.same(await store.getToken(record.id), record);
    const listed = [...(await store.listTokens())].find((r) => r.id === record.id)!;
    t.same([listed.rolledTo, listed.labels], ['0123456789abcdef', { owner: 'team-a', 'cost/centre': '42' }]);
    const { rolledTo: _, labels: __, allowFrom: ___, selfRotate: ____, ...plain } = record;
    await store.updateToken(plain, entry('edited', 2), 1);
    const after = (await store.getToken(record.id))!;
    t.same([after.rolledTo, after.labels, after.allowFrom, after.selfRotate], [undefined, undefined, undefined, undefined], 'cleared by an update');
  });

  t.test('list reflects updates, deletes and lastUsedAt', async (t) => {
    const a = makeToken().record;
    const b = makeToken().record;
    await store.createToken(a, entry('created'));
    await store.createToken(b, entry('created'));
    await store.updateToken({ ...a, name: 'renamed' }, entry('edited'), 1);
    await store.deleteToken(b.id, entry('deleted'), 1);
    await store.touchLastUsed(uses([[a.id, 7]]));
    const all = [...(await store.listTokens())];
    t.same(
      all.map((r) => [r.id, r.name, r.lastUsedAt]),
      [[a.id, 'renamed', 7]],
    );
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
    await store.updateToken({ ...a, status: 'revoked' }, entry('revoked'), 1);
    await store.updateToken({ ...b, expiresAt: null }, entry('edited'), 1);
    t.same(await count(5000), { 'repository:active': 1, 'repository:revoked': 1, 'personal:active': 1 });
    await store.deleteToken(a.id, entry('deleted'), 2);
    await store.deleteToken(c.id, entry('deleted'), 1);
    t.same(await count(5000), { 'repository:active': 1 });
  });

  t.test('lastUsedAt moves forward only, and touching a missing token creates nothing', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    await store.touchLastUsed(
      uses([
        [record.id, 2000],
        ['ffffffffffffffff', 3000],
      ]),
    );
    t.equal((await store.getToken(record.id))?.lastUsedAt, 2000);
    await store.touchLastUsed(uses([[record.id, 1000]]));
    t.equal((await store.getToken(record.id))?.lastUsedAt, 2000);
    t.equal(await store.getToken('ffffffffffffffff'), undefined);
    t.same((await store.history(record.id)).length, 1, 'use is not a change in history');
  });

  t.test('records handed out cannot change what is stored', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    const got = (await store.getToken(record.id))!;
    got.rights.push('admin');
    record.rights.push('delete');
    t.same((await store.getToken(record.id))?.rights, ['query', 'stream']);
  });

  t.test('an update or delete decided on an old version is refused and changes nothing', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    t.equal(await store.updateToken({ ...record, status: 'revoked' }, entry('revoked'), 1), 'written');
    t.equal(await store.updateToken({ ...record, name: 'late edit' }, entry('edited'), 1), 'stale');
    t.equal(await store.deleteToken(record.id, entry('deleted'), 1), 'stale');
    const stored = (await store.getToken(record.id))!;
    t.equal(stored.status, 'revoked');
    t.equal(stored.name, record.name);
    t.equal(stored.version, 2);
    t.same(
      (await store.history(record.id)).map((e) => e.action),
      ['created', 'revoked'],
      'a refused write leaves no history',
    );
  });

  t.test('an update keeps a newer lastUsedAt written apart', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    await store.touchLastUsed(uses([[record.id, 5000]]));
    t.equal(await store.updateToken({ ...record, name: 'renamed', lastUsedAt: null }, entry('edited'), 1), 'written');
    t.equal((await store.getToken(record.id))?.lastUsedAt, 5000);
  });

  t.test('racing writers on one version: exactly one wins, the rest are stale', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => store.updateToken({ ...record, name: `writer ${n}` }, entry('edited'), 1)));
    t.equal(results.filter((r) => r === 'written').length, 1);
    t.equal(results.filter((r) => r === 'stale').length, 5);
    t.equal((await store.history(record.id)).length, 2);
  });

  t.test('the parent link is stored', async (t) => {
    const parent = makeToken().record;
    const child = makeToken({ parentId: parent.id }).record;
    await store.createToken(parent, entry('created'));
    await store.createToken(child, entry('created'));
    t.equal((await store.getToken(child.id))?.parentId, parent.id);
    t.equal((await store.getToken(parent.id))?.parentId, null);
  });

  t.test('a lent token keeps lent, its maker and its budget id, in its record and in the list', async (t) => {
    const maker = makeToken({ lent: false }).record;
    const lent = makeToken({ parentId: maker.id, lent: true, budgetId: 'aaaaaaaaaaaaaaaa' }).record;
    await store.createToken(maker, entry('created'));
    await store.createToken(lent, entry('created'));
    t.same(await store.getToken(lent.id), lent);
    t.same(await store.getToken(maker.id), maker, 'lent: false is kept as written');
    const listed = new Map([...(await store.listTokens())].map((r) => [r.id, r]));
    t.equal(listed.get(lent.id)?.lent, true);
    t.equal(listed.get(lent.id)?.budgetId, 'aaaaaaaaaaaaaaaa', 'the list knows who spends from one budget');
    t.equal(listed.get(maker.id)?.lent, false);
    t.equal(listed.get(maker.id)?.budgetId, undefined);
    await store.updateToken({ ...lent, status: 'revoked', revokedAt: 5 }, entry('revoked'), 1);
    t.match(await store.getToken(lent.id), { lent: true, parentId: maker.id, budgetId: 'aaaaaaaaaaaaaaaa', status: 'revoked' }, 'an update keeps them');
  });

  t.test('a token written before lent tokens existed reads as independent, with its own budget', async (t) => {
    // Stores written earlier hold neither field; a maker may still be named.
    const old = makeToken({ parentId: 'bbbbbbbbbbbbbbbb' }).record;
    await store.createToken(old, entry('created'));
    const read = (await store.getToken(old.id))!;
    t.equal(read.lent, undefined);
    t.equal(read.budgetId, undefined);
    t.equal(read.parentId, 'bbbbbbbbbbbbbbbb');
    t.equal([...(await store.listTokens())].find((r) => r.id === old.id)?.lent, undefined);
  });

  t.test('a use is stored with its address and User-Agent, and an older one changes neither', async (t) => {
    const { record } = makeToken();
    await store.createToken(record, entry('created'));
    await store.touchLastUsed(new Map([[record.id, { at: 2000, ip: '192.0.2.7', userAgent: 'phone/2' }]]));
    await store.touchLastUsed(new Map([[record.id, { at: 1000, ip: '192.0.2.8', userAgent: 'old/1' }]]));
    const stored = (await store.getToken(record.id))!;
    t.same([stored.lastUsedAt, stored.lastUsedIp, stored.lastUsedUserAgent], [2000, '192.0.2.7', 'phone/2']);
    const listed = [...(await store.listTokens())].find((r) => r.id === record.id)!;
    t.equal(listed.lastUsedAt, 2000, 'the list index carries the time (it sorts by it)');
    const [fetched] = await store.getTokens([record.id]);
    t.same([fetched?.lastUsedIp, fetched?.lastUsedUserAgent], ['192.0.2.7', 'phone/2'], 'getTokens carries the address and User-Agent');
  });

  t.test('active tokens expiring in a window are counted by kind', async (t) => {
    const soon = makeToken({ expiresAt: 5000 }).record;
    const later = makeToken({ expiresAt: 50_000 }).record;
    const personal = makeToken({ kind: 'personal', user: 'alice', expiresAt: 6000 }).record;
    const revoked = makeToken({ expiresAt: 5000, status: 'revoked' }).record;
    const past = makeToken({ expiresAt: 500 }).record;
    for (const record of [soon, later, personal, revoked, past]) await store.createToken(record, entry('created'));
    t.same(await store.countExpiring(1000, 10_000), { repository: 1, personal: 1 });
    t.same(await store.countExpiring(1000, 100_000), { repository: 2, personal: 1 });
  });

  t.test('tokens expiring in a window are found', async (t) => {
    const soon = makeToken({ expiresAt: 2000 }).record;
    const later = makeToken({ expiresAt: 9000 }).record;
    const revoked = makeToken({ expiresAt: 2000, status: 'revoked' }).record;
    for (const record of [soon, later, revoked]) await store.createToken(record, entry('created'));
    t.same(await store.tokensExpiringBetween(1000, 5000), [soon.id]);
    t.same((await store.tokensExpiringBetween(0, 10_000)).sort(), [soon.id, later.id].sort());
  });
}

/** Organizations, repositories, users and teams (Directory), with the events their writes keep. */
function directoryContract(t: Test, makeStore: Make<Directory & EventLog>): void {
  let store!: Awaited<ReturnType<Make<Directory & EventLog>>>;
  t.beforeEach(async () => {
    store = await makeStore();
  });
  t.afterEach(async () => {
    await store.close();
  });

  organizationContract(t, () => store);

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

  t.test('teams are stored with members and grants, with history, and found by member', async (t) => {
    const team = { name: 'platform', members: ['alice', 'bob'], grants: { sensors: ['query' as const] }, createdAt: 1, updatedAt: 1 };
    await store.putTeam(team, entry('created'));
    t.same(await store.getTeam('platform'), team);
    t.same(
      (await store.teamsOf('alice')).map((x) => x.name),
      ['platform'],
    );
    t.same(await store.teamsOf('carol'), []);
    const changed = { ...team, members: ['bob', 'carol'], updatedAt: 2 };
    await store.putTeam(changed, entry('edited'));
    t.same(await store.teamsOf('alice'), [], 'a member removed is no longer found');
    t.same(
      (await store.teamsOf('carol')).map((x) => x.name),
      ['platform'],
    );
    t.same(await store.listTeams(), [changed]);
    t.equal(await store.deleteTeam('platform', entry('deleted')), true);
    t.equal(await store.deleteTeam('platform', entry('deleted')), false);
    t.same(await store.teamsOf('bob'), []);
    t.same(
      (await store.teamHistory('platform')).map((e) => e.action),
      ['created', 'edited', 'deleted'],
      'history stays after delete',
    );
  });
}

/** Invalidation pub/sub (Invalidations). */
function invalidationsContract(t: Test, makeStore: Make<Invalidations>): void {
  let store!: Awaited<ReturnType<Make<Invalidations>>>;
  t.beforeEach(async () => {
    store = await makeStore();
  });
  t.afterEach(async () => {
    await store.close();
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
}

/** Budget counters (BudgetStore, docs/limits.md). */
function budgetsContract(t: Test, makeStore: Make<BudgetStore>): void {
  let store!: Awaited<ReturnType<Make<BudgetStore>>>;
  t.beforeEach(async () => {
    store = await makeStore();
  });
  t.afterEach(async () => {
    await store.close();
  });
  const budget = (limit: 'rate' | 'quota' | 'streams' = 'quota', window = 3_600_000) => ({ tokenId: 'aaaaaaaaaaaaaaaa', limit, window });

  t.test('budget leases hand out the cap and no more, in slices', async (t) => {
    const take = { cap: 10, want: 4, now: 1000, ttlMs: 60_000 };
    t.same(await store.takeBudget(budget(), take), { granted: 4, left: 6 });
    t.same(await store.takeBudget(budget(), take), { granted: 4, left: 2 });
    t.same(await store.takeBudget(budget(), take), { granted: 2, left: 0 }, 'the last lease is what is left');
    t.same(await store.takeBudget(budget(), take), { granted: 0, left: 0 });
    t.same(await store.takeBudget(budget('quota', 7_200_000), take), { granted: 4, left: 6 }, 'another window has its own budget');
    t.same(await store.readBudgets([budget(), budget('rate'), budget('quota', 7_200_000)], 1000), [10, 0, 4]);
  });

  t.test('racing leases never hand out more than the cap together', async (t) => {
    const grants = await Promise.all(Array.from({ length: 20 }, () => store.takeBudget(budget('rate'), { cap: 25, want: 3, now: 1000, ttlMs: 60_000 })));
    t.equal(
      grants.reduce((sum, grant) => sum + grant.granted, 0),
      25,
    );
  });

  t.test('a lease given back can be taken again, and the counter never goes below zero', async (t) => {
    const take = { cap: 5, want: 5, now: 1000, ttlMs: 60_000 };
    await store.takeBudget(budget('streams', 0), take);
    await store.returnBudget(budget('streams', 0), 2, 1000);
    t.same(await store.readBudgets([budget('streams', 0)], 1000), [3]);
    t.same(await store.takeBudget(budget('streams', 0), take), { granted: 2, left: 0 });
    await store.returnBudget(budget('streams', 0), 50, 1000);
    t.same(await store.readBudgets([budget('streams', 0)], 1000), [0]);
    await store.returnBudget(budget('rate', 5), 3, 1000);
    t.same(await store.readBudgets([budget('rate', 5)], 1000), [0], 'giving back to a counter that is gone makes nothing');
  });

  t.test('a sliding lease counts the prior window by its overlap', async (t) => {
    await store.takeBudget(budget('rate', 0), { cap: 100, want: 100, now: 500, ttlMs: 60_000 });
    // Half of the prior window still overlaps: 50 of its 100 count against this one.
    const grant = await store.takeBudget(budget('rate', 1000), { cap: 100, want: 80, now: 1500, ttlMs: 60_000, prior: { window: 0, permille: 500 } });
    t.same(grant, { granted: 50, left: 0 });
  });
}

/**
 * The outbox (EventLog, docs/webhooks.md): events kept in the same step as the token or directory
 * write that makes them, and taken by each webhook in order, one at a time.
 */
function eventsContract(t: Test, makeStore: Make<EventLog & TokenRecords & Directory>): void {
  let store!: Awaited<ReturnType<Make<EventLog & TokenRecords & Directory>>>;
  t.beforeEach(async () => {
    store = await makeStore();
  });
  t.afterEach(async () => {
    await store.close();
  });
  const event = (type: string, data: unknown = {}, at = Date.now()): OutEvent => ({ id: `msg_${randomUUID()}`, type, at, data });

  t.test('events are kept with the change that makes them, and not when the change is refused', async (t) => {
    await store.openQueue('wh_a');
    const { record } = makeToken();
    const created = event('token.created', { id: record.id });
    t.equal(await store.createToken(record, entry('created'), [created]), true);
    t.equal(await store.createToken(record, entry('created'), [event('token.created')]), false, 'a refused create');
    t.equal(await store.updateToken(record, entry('edited'), 7, [event('token.edited')]), 'stale', 'a stale update');
    const revoked = event('token.revoked');
    t.equal(await store.updateToken({ ...record, status: 'revoked' }, entry('revoked'), 1, [revoked]), 'written');
    const deleted = event('token.deleted');
    t.equal(await store.deleteToken(record.id, entry('deleted'), 1, [event('token.deleted')]), 'stale');
    t.equal(await store.deleteToken(record.id, entry('deleted'), 2, [deleted]), 'written');
    t.equal(await store.createRepository({ name: 'r1', createdAt: 1, createdBy: 'x' }, [event('repository.created')]), true);
    t.equal(await store.createRepository({ name: 'r1', createdAt: 1, createdBy: 'x' }, [event('repository.created')]), false);
    t.equal(await store.deleteRepository('nope', [event('repository.deleted')]), false);
    await store.putUser({ name: 'u1', grants: {}, createdAt: 1, updatedAt: 1 }, [event('user.created')]);
    t.equal(await store.deleteUser('nope', [event('user.deleted')]), false);
    await store.putTeam({ name: 't1', members: ['u1'], grants: {}, createdAt: 1, updatedAt: 1 }, entry('created'), [event('team.created')]);
    t.equal(await store.deleteTeam('t1', entry('deleted'), [event('team.deleted')]), true);
    t.same(
      (await store.teamHistory('t1')).map((e) => e.action),
      ['created', 'deleted'],
      'team history still written',
    );
    const recent = await store.recentEvents(50, ['wh_a']);
    t.same(
      recent.map((e) => e.type),
      ['team.deleted', 'team.created', 'user.created', 'repository.created', 'token.deleted', 'token.revoked', 'token.created'],
    );
    t.same(recent.at(-1)?.data, { id: record.id });
    t.equal(recent.at(-1)?.id, created.id);
    t.equal(await store.backlog('wh_a', ['*']), 7);
  });

  t.test('a webhook takes its events in order, one at a time, under a lease', async (t) => {
    await store.openQueue('wh_a');
    await store.openQueue('wh_b');
    const first = event('user.created');
    const second = event('user.edited');
    const skipped = event('team.created');
    const third = event('user.deleted');
    await store.putUser({ name: 'u1', grants: {}, createdAt: 1, updatedAt: 1 }, [first, second]);
    await store.putTeam({ name: 't1', members: [], grants: {}, createdAt: 1, updatedAt: 1 }, entry('created'), [skipped]);
    await store.deleteUser('u1', [third]);
    const wants = ['user.created', 'user.edited', 'user.deleted'];
    const now = 1_000_000;
    const a = await store.take('wh_a', 'one', wants, now, 1000);
    t.equal(a.kind === 'event' && a.event.id, first.id);
    t.equal(a.kind === 'event' && a.delivery.attempts, 1);
    t.same(await store.take('wh_a', 'two', wants, now + 10, 1000), { kind: 'wait', until: now + 1000 }, 'held under its lease');
    // The lease ran out (its sender died): another sender takes it over, as attempt 2.
    const b = await store.take('wh_a', 'two', wants, now + 1000, 1000);
    t.equal(b.kind === 'event' && b.event.id, first.id);
    t.equal(b.kind === 'event' && b.delivery.attempts, 2);
    await store.settle('wh_a', first, { ok: false, status: 500, error: 'HTTP 500', nextAttemptAt: now + 5000 }, now + 1100);
    t.same(await store.take('wh_a', 'one', wants, now + 1200, 1000), { kind: 'wait', until: now + 5000 }, 'backing off, and nothing behind it goes first');
    const c = await store.take('wh_a', 'one', wants, now + 5000, 1000);
    t.equal(c.kind === 'event' && c.delivery.attempts, 3);
    await store.settle('wh_a', first, { ok: true, status: 204 }, now + 5100);
    await store.settle('wh_a', first, { ok: true, status: 204 }, now + 5200); // a late twin changes nothing
    const d = await store.take('wh_a', 'one', wants, now + 5200, 1000);
    t.equal(d.kind === 'event' && d.event.id, second.id);
    await store.settle('wh_a', second, { ok: false, status: null, error: 'ECONNREFUSED', nextAttemptAt: null }, now + 5300);
    const e = await store.take('wh_a', 'one', wants, now + 5300, 1000);
    t.equal(e.kind === 'event' && e.event.id, third.id, 'the team event is passed over, a given-up event is behind');
    await store.settle('wh_a', third, { ok: true, status: 200 }, now + 5400);
    t.same(await store.take('wh_a', 'one', wants, now + 5400, 1000), { kind: 'idle' });
    t.equal(await store.backlog('wh_b', ['*']), 4, 'each webhook has its own queue');
    const recent = await store.recentEvents(10, ['wh_a', 'wh_b']);
    const states = new Map(recent.map((r) => [r.id, r.deliveries.get('wh_a')]));
    t.match(states.get(first.id), { state: 'delivered', attempts: 3, lastStatus: 204, deliveredAt: now + 5100, lastError: null });
    t.match(states.get(second.id), { state: 'failed', attempts: 1, lastStatus: null, lastError: 'ECONNREFUSED' });
    t.equal(states.get(skipped.id), undefined);
    t.equal(recent[0]!.deliveries.has('wh_b'), false);
  });

  t.test('a queue opened later starts at the end', async (t) => {
    await store.putUser({ name: 'u1', grants: {}, createdAt: 1, updatedAt: 1 }, [event('user.created')]);
    await store.openQueue('wh_late');
    t.same(await store.take('wh_late', 'one', ['*'], 1, 1000), { kind: 'idle' });
    await store.openQueue('wh_late'); // again: changes nothing
    const later = event('user.edited');
    await store.putUser({ name: 'u1', grants: {}, createdAt: 1, updatedAt: 2 }, [later]);
    const taken = await store.take('wh_late', 'one', ['*'], 1, 1000);
    t.equal(taken.kind === 'event' && taken.event.id, later.id);
  });

  t.test('an event appended once under a key is not appended again', async (t) => {
    t.equal(await store.appendEventOnce('k1', event('token.expiring'), Date.now() + 60_000), true);
    t.equal(await store.appendEventOnce('k1', event('token.expiring'), Date.now() + 60_000), false);
    t.equal(await store.appendEventOnce('k2', event('token.expired'), Date.now() + 60_000), true);
    t.same(
      (await store.recentEvents(10, [])).map((e) => e.type),
      ['token.expired', 'token.expiring'],
    );
  });
}

/** Leases across replicas: the sweep lease and name claims (Leases). */
function leasesContract(t: Test, makeStore: Make<Leases>): void {
  let store!: Awaited<ReturnType<Make<Leases>>>;
  t.beforeEach(async () => {
    store = await makeStore();
  });
  t.afterEach(async () => {
    await store.close();
  });

  t.test('a name claim is held by one caller until it is let go (stores shared by replicas)', async (t) => {
    if (store.claimName === undefined || store.releaseName === undefined)
      return t.pass(`the ${store.backend} store lives in one process: the service's own claims suffice`);
    const scope = `repository:${randomUUID()}`;
    const claims = await Promise.all([1, 2, 3].map(() => store.claimName!(scope, 'ci-loader', 10_000)));
    t.same(claims.filter(Boolean).length, 1, 'exactly one of three racing claims wins');
    t.equal(await store.claimName(scope, 'other', 10_000), true, 'another name is free');
    await store.releaseName(scope, 'ci-loader');
    t.equal(await store.claimName(scope, 'ci-loader', 10_000), true, 'free again once let go');
  });

  t.test('a lease is held by one holder at a time, and renewed by it', async (t) => {
    t.equal(await store.lease('sweep', 'one', 60_000, 0), true);
    t.equal(await store.lease('sweep', 'one', 60_000, 0), true, 'renewed by its holder');
    t.equal(await store.lease('sweep', 'two', 60_000, 0), false);
  });
}

/** Whether the backend answers (StoreHealth). */
function healthContract(t: Test, makeStore: Make<StoreHealth>): void {
  let store!: Awaited<ReturnType<Make<StoreHealth>>>;
  t.beforeEach(async () => {
    store = await makeStore();
  });
  t.afterEach(async () => {
    await store.close();
  });

  t.test('ping answers while the store is up', async (t) => {
    await t.resolves(store.ping());
  });
}

/** Usage history (UsageStore, docs/usage.md): counts are increments, summed per token per hour. */
function usageContract(t: Test, makeStore: Make<UsageStore>): void {
  let store!: Awaited<ReturnType<Make<UsageStore>>>;
  t.beforeEach(async () => {
    store = await makeStore();
  });
  t.afterEach(async () => {
    await store.close();
  });

  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  // A day start well inside the retention of the `now` each test passes.
  const T0 = 1_800_000_000_000 - (1_800_000_000_000 % DAY);
  const usage = (
    tokenId: string,
    hour: number,
    figures: Partial<{ allowed: number; refused: Record<string, number>; bytesIn: number; bytesOut: number }> = {},
  ) => ({
    tokenId,
    repository: 'repo-a',
    hour,
    allowed: 0,
    refused: {},
    bytesIn: 0,
    bytesOut: 0,
    ...figures,
  });

  t.test('usage added twice for one token and hour is summed, hours come oldest first', async (t) => {
    const id = 'a1a1a1a1a1a1a1a1';
    await store.addUsage(
      [usage(id, T0 + 2 * HOUR, { allowed: 3, bytesIn: 100, bytesOut: 1000, refused: { rate_limited: 2 } }), usage(id, T0, { allowed: 1 })],
      T0 + 3 * HOUR,
    );
    // A second replica's batch for the same hours: it adds, it does not replace.
    await store.addUsage([usage(id, T0 + 2 * HOUR, { allowed: 4, bytesIn: 5, refused: { rate_limited: 1, insufficient_scope: 7 } })], T0 + 3 * HOUR);
    await store.addUsage([usage('b2b2b2b2b2b2b2b2', T0 + 2 * HOUR, { allowed: 50 })], T0 + 3 * HOUR);
    t.same(await store.usageOf(id, T0, T0 + DAY), [
      { hour: T0, allowed: 1, refused: {}, bytesIn: 0, bytesOut: 0 },
      { hour: T0 + 2 * HOUR, allowed: 7, refused: { rate_limited: 3, insufficient_scope: 7 }, bytesIn: 105, bytesOut: 1000 },
    ]);
    t.same(await store.usageOf(id, T0 + HOUR, T0 + 2 * HOUR), [], 'only hours that start in [from, to)');
    t.same(await store.usageOf('c3c3c3c3c3c3c3c3', T0, T0 + DAY), [], 'a token never used has none');
  });

  t.test('usage across a day boundary is read in one window', async (t) => {
    const id = 'a1a1a1a1a1a1a1a1';
    await store.addUsage([usage(id, T0 + DAY - HOUR, { allowed: 1 }), usage(id, T0 + DAY, { allowed: 2 })], T0 + DAY + HOUR);
    t.same(
      (await store.usageOf(id, T0, T0 + 2 * DAY)).map((hour) => [hour.hour - T0, hour.allowed]),
      [
        [DAY - HOUR, 1],
        [DAY, 2],
      ],
    );
  });

  t.test('the tokens used in a window are found with their repositories', async (t) => {
    await store.addUsage(
      [
        { ...usage('a1a1a1a1a1a1a1a1', T0 + HOUR, { allowed: 1 }), repository: 'repo-a' },
        { ...usage('b2b2b2b2b2b2b2b2', T0 + HOUR, { bytesOut: 9 }), repository: 'repo-b' },
      ],
      T0 + 2 * HOUR,
    );
    await store.addUsage([usage('c3c3c3c3c3c3c3c3', T0 + 3 * DAY, { allowed: 1 })], T0 + 3 * DAY + HOUR);
    const used = (await store.usedTokens(T0, T0 + DAY)).sort((a, b) => a.tokenId.localeCompare(b.tokenId));
    t.same(used, [
      { tokenId: 'a1a1a1a1a1a1a1a1', repository: 'repo-a' },
      { tokenId: 'b2b2b2b2b2b2b2b2', repository: 'repo-b' },
    ]);
    t.same(await store.usedTokens(T0 + 2 * DAY, T0 + 4 * DAY), [{ tokenId: 'c3c3c3c3c3c3c3c3', repository: 'repo-a' }]);
  });

  t.test('usage older than the retention is dropped', async (t) => {
    store.keepUsageFor?.(DAY);
    const id = 'a1a1a1a1a1a1a1a1';
    // Added late: its day ended more than a day before `now`.
    await store.addUsage([usage(id, T0, { allowed: 1 }), usage(id, T0 + 3 * DAY, { allowed: 2 })], T0 + 3 * DAY + HOUR);
    await waitFor(async () => (await store.usageOf(id, T0, T0 + 4 * DAY)).length === 1, { what: 'the old day to expire' });
    t.same(
      (await store.usageOf(id, T0, T0 + 4 * DAY)).map((hour) => hour.allowed),
      [2],
      'the recent hour stays',
    );
  });
}
