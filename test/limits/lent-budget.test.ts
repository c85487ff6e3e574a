import t, { type Test } from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { FakeClock } from '../helpers/fakes.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';

// Budgets cannot be multiplied (docs/tokens.md, "Independent and lent tokens"): a lent token spends from its maker's budget
// too, so minting children never adds to a limit; repository defaults are a ceiling for every
// admin but a `*` one; a roll carries the spent budget over to the new secret. Requests go
// through the built proxy; the fake clock stands still, so every request falls in one window.

const backends = await persistentBackends(t);

async function statuses(h: Harness, secrets: readonly string[], repository = 'sensors'): Promise<number[]> {
  const out: number[] = [];
  for (const secret of secrets) {
    const res = await request(`${h.proxy}/v1/repositories/${repository}/x`, { headers: bearer(secret) });
    await res.body.dump();
    out.push(res.statusCode);
  }
  return out;
}

for (const [backend, open] of Object.entries(backends)) {
  t.test(`budgets on the ${backend} store`, async (t: Test) => {
    const clock = new FakeClock(Date.UTC(2026, 11, 3, 6, 0, 30));
    const h = await startHarness({ store: await open(), clock });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'], billing: ['query'] } });
    const personal = (body: Record<string, unknown>) => ({ kind: 'personal', user: 'alice', repository: 'sensors', rights: ['query'], ...body });

    t.test("a lent child's requests spend its maker's rate budget: 2 a minute for the whole line", async (t) => {
      const maker = (await call(h, 'POST', '/v1/tokens', admin, personal({ name: 'two a minute', limits: { rate: { requests: 2, per: '1m' } } }))).body;
      const child = await call(h, 'POST', '/v1/tokens', maker.secret, personal({ name: 'child' }));
      t.equal(child.status, 201);
      t.equal(child.body.token.lent, true);
      const grandchild = (await call(h, 'POST', '/v1/tokens', child.body.secret, personal({ name: 'grandchild' }))).body;
      t.same(await statuses(h, [child.body.secret, grandchild.secret, maker.secret, child.body.secret]), [200, 200, 429, 429]);
      const refused = await request(`${h.proxy}/v1/repositories/sensors/x`, { headers: bearer(grandchild.secret) });
      await refused.body.dump();
      t.equal(refused.statusCode, 429);
      t.match(refused.headers['retry-after'], /^[1-9]\d*$/);
      t.equal(refused.headers['ratelimit-policy'], '"rate";q=2;w=60', "the maker's limit is the one that refused");
    });

    t.test("a lent token's limits are within its maker's", async (t) => {
      const maker = (await call(h, 'POST', '/v1/tokens', admin, personal({ name: 'ten a second', limits: { rate: { requests: 10, per: '1s' }, streams: 2 } })))
        .body;
      const wider = await call(h, 'POST', '/v1/tokens', maker.secret, personal({ name: 'wider', limits: { rate: { requests: 1e9, per: '1s' } } }));
      t.equal(wider.status, 403);
      t.match(wider.body.detail, /^limits\.rate: /);
      const moreStreams = await call(h, 'POST', '/v1/tokens', maker.secret, personal({ name: 'wider', limits: { streams: 3 } }));
      t.equal(moreStreams.status, 403);
      t.match(moreStreams.body.detail, /^limits\.streams: /);
      const narrower = await call(h, 'POST', '/v1/tokens', maker.secret, personal({ name: 'narrower', limits: { rate: { requests: 5, per: '1s' } } }));
      t.equal(narrower.status, 201);
    });

    t.test("a repository's default limits are a ceiling for every admin but a * admin", async (t) => {
      t.equal((await call(h, 'PATCH', '/v1/repositories/billing', admin, { limits: { rate: { requests: 5, per: '1s' } } })).status, 200);
      t.teardown(async () => void (await call(h, 'PATCH', '/v1/repositories/billing', admin, { limits: null })));
      const scoped = (
        await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'billing admin', repository: 'billing', rights: ['admin', 'query'] })
      ).body;
      const body = { kind: 'repository', name: 'fast', repository: 'billing', rights: ['query'], limits: { rate: { requests: 1e9, per: '1s' } } };
      const refused = await call(h, 'POST', '/v1/tokens', scoped.secret, body);
      t.equal(refused.status, 403);
      t.match(refused.body.detail, /^limits\.rate: .*billing/);
      const none = (await call(h, 'POST', '/v1/tokens', scoped.secret, { ...body, limits: undefined })).body;
      const edited = await call(h, 'PATCH', `/v1/tokens/${none.token.id}`, scoped.secret, { limits: { rate: { requests: 1e9, per: '1s' } } });
      t.equal(edited.status, 403, 'nor by an edit');
      const self = (await call(h, 'POST', '/v1/tokens', admin, personal({ name: 'held to billing', repository: 'billing' }))).body;
      const child = await call(
        h,
        'POST',
        '/v1/tokens',
        self.secret,
        personal({ name: 'child', repository: 'billing', limits: { rate: { requests: 1e9, per: '1s' } } }),
      );
      t.equal(child.status, 403, 'a personal token held to the default mints nothing faster');
      t.equal((await call(h, 'POST', '/v1/tokens', admin, { ...body, name: 'made by a * admin' })).status, 201, 'a * admin may');
    });

    t.test('a roll carries the spent budget over to the new secret', async (t) => {
      const old = await h.token(['query'], 'sensors', { limits: { rate: { requests: 3, per: '1m' } } });
      t.same(await statuses(h, [old.secret, old.secret, old.secret, old.secret]), [200, 200, 200, 429]);
      const rolled = await call(h, 'POST', `/v1/tokens/${old.token.id}/roll`, admin, { overlap: '1h' });
      t.equal(rolled.status, 201);
      t.same(await statuses(h, [rolled.body.secret, old.secret]), [429, 429], 'the same budget, spent');
      const usage = await call(h, 'GET', `/v1/tokens/${rolled.body.token.id}/usage`, admin);
      t.equal(usage.body.rate.used, 3, 'usage of the new token counts what the old one spent');

      const edited = await call(h, 'PATCH', `/v1/tokens/${rolled.body.token.id}`, admin, { limits: { rate: { requests: 4, per: '1m' } } });
      t.equal(edited.status, 200);
      t.same(
        (await call(h, 'GET', `/v1/tokens/${old.token.id}`, admin)).body.limits,
        { rate: { requests: 4, per: '1m' } },
        'the other secret of the roll gets the same limits',
      );
      const history = (await call(h, 'GET', `/v1/tokens/${old.token.id}/history`, admin)).body.items as Array<{ action: string; reason?: string }>;
      t.match(history.at(-1), { action: 'edited', reason: `it spends from one budget with token ${rolled.body.token.id} (a roll's overlap)` });
      t.same(await statuses(h, [old.secret, rolled.body.secret]), [200, 429], 'one more of the new four, shared');
    });
  });
}
