import t, { type Test } from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { FakeClock } from '../helpers/fakes.js';
import { bearer, startHarness } from '../helpers/harness.js';

// Limits through the admin API: set at creation and by edit (recorded in history), refused with
// problem+json naming the field, repository defaults, the usage endpoint, and who may do what.

const backends = await persistentBackends(t);
const LIMITS = { rate: { requests: 50, per: '1s' }, quota: { bytes: 10 * 1024 ** 3, per: '1d' }, streams: 2 };

for (const [backend, open] of Object.entries(backends)) {
  t.test(`limits in the admin API on the ${backend} store`, async (t: Test) => {
    const clock = new FakeClock(Date.UTC(2026, 10, 24, 6, 0, 0));
    const h = await startHarness({ store: await open(), clock });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    const base = { kind: 'repository', name: 'limited', repository: 'sensors', rights: ['query'] };

    t.test('bad limits are refused with problem+json naming the field', async (t) => {
      const cases: Array<[unknown, RegExp]> = [
        [{ rate: { requests: 50, per: '2h' } }, /^limits\.rate\.per: expected a duration from 1s to 1h/],
        [{ rate: { requests: 0, per: '1s' } }, /^limits\.rate\.requests: expected at least 1 request/],
        [{ quota: { bytes: 1024, per: '10m' } }, /^limits\.quota\.per: expected a duration from 1h to 30d/],
        [{ streams: 1.5 }, /^limits\.streams: expected a whole number of streams/],
        [{ burst: 3 }, /limits/],
      ];
      for (const [limits, detail] of cases) {
        const res = await call(h, 'POST', '/v1/tokens', admin, { ...base, limits });
        t.equal(res.status, 400, JSON.stringify(limits));
        t.match(res.headers['content-type'], /application\/problem\+json/);
        t.equal(res.body.type, '/problems/invalid-request');
        t.match(res.body.detail, detail);
      }
      const edit = await call(h, 'PATCH', `/v1/repositories/sensors`, admin, { limits: { streams: 0 } });
      t.equal(edit.status, 400);
      t.match(edit.body.detail, /^limits\.streams: /);
    });

    t.test('limits set at creation and by edit are shown and recorded in history', async (t) => {
      const created = await call(h, 'POST', '/v1/tokens', admin, { ...base, limits: LIMITS });
      t.equal(created.status, 201);
      t.same(created.body.token.limits, LIMITS);
      const id = created.body.token.id as string;
      t.same((await call(h, 'GET', `/v1/tokens/${id}`, admin)).body.limits, LIMITS);

      const edited = await call(h, 'PATCH', `/v1/tokens/${id}`, admin, { limits: { streams: 5 } });
      t.equal(edited.status, 200);
      t.same(edited.body.limits, { streams: 5 });
      const cleared = await call(h, 'PATCH', `/v1/tokens/${id}`, admin, { limits: null });
      t.equal(cleared.body.limits, null);

      const history = (await call(h, 'GET', `/v1/tokens/${id}/history`, admin)).body.items as Array<{
        action: string;
        changes: Record<string, { from: unknown; to: unknown }>;
      }>;
      t.same(history[0]!.changes.limits, { from: null, to: LIMITS });
      t.same(history[1]!.changes.limits, { from: LIMITS, to: { streams: 5 } });
      t.same(history[2]!.changes.limits, { from: { streams: 5 }, to: null });
    });

    t.test('a rolled token keeps its limits', async (t) => {
      const created = await call(h, 'POST', '/v1/tokens', admin, { ...base, name: 'to roll', limits: LIMITS });
      const rolled = await call(h, 'POST', `/v1/tokens/${created.body.token.id}/roll`, admin, { overlap: '1h' });
      t.equal(rolled.status, 201);
      t.same(rolled.body.token.limits, LIMITS);
    });

    t.test('a token cannot change its own limits', async (t) => {
      const me = await call(h, 'GET', '/v1/whoami', admin);
      const res = await call(h, 'PATCH', `/v1/tokens/${me.body.token?.id ?? me.body.id}`, admin, { limits: { streams: 1 } });
      t.equal(res.status, 403);
      t.match(res.body.detail, /limits/);
    });

    t.test('usage shows what is spent and left in the current windows', async (t) => {
      const created = await h.token(['query'], 'sensors', { limits: { rate: { requests: 100, per: '1h' }, streams: 3 } });
      for (let i = 0; i < 3; i++) await (await request(`${h.proxy}/v1/repositories/sensors/x`, { headers: bearer(created.secret) })).body.text();
      const usage = await call(h, 'GET', `/v1/tokens/${created.token.id}/usage`, admin);
      t.equal(usage.status, 200);
      t.equal(usage.body.source, 'token');
      t.equal(usage.body.rate.limit, 100);
      t.ok(usage.body.rate.used >= 3, 'what was leased for the 3 requests is counted');
      t.equal(usage.body.rate.left, 100 - usage.body.rate.used);
      t.equal(usage.body.rate.windowStart, '2026-11-24T06:00:00.000Z');
      t.equal(usage.body.rate.resetsAt, '2026-11-24T07:00:00.000Z');
      t.equal(usage.body.streams.limit, 3);

      const plain = await h.token(['query']);
      t.same((await call(h, 'GET', `/v1/tokens/${plain.token.id}/usage`, admin)).body, { id: plain.token.id, limits: null, source: 'none' });
    });

    t.test('usage is read under the same policy as the token: a token without admin sees no other token', async (t) => {
      const other = await h.token(['query'], 'sensors', { limits: { streams: 1 } });
      const reader = await h.token(['query']);
      const res = await call(h, 'GET', `/v1/tokens/${other.token.id}/usage`, reader.secret);
      t.ok(res.status === 403 || res.status === 404, `refused (${res.status})`);
      t.match(res.headers['content-type'], /application\/problem\+json/);
    });

    t.test("a repository's default limits apply to its tokens without their own", async (t) => {
      const plain = await h.token(['query'], 'billing');
      const set = await call(h, 'PATCH', '/v1/repositories/billing', admin, { limits: { rate: { requests: 2, per: '1h' } } });
      t.equal(set.status, 200);
      t.same(set.body.limits, { rate: { requests: 2, per: '1h' } });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await request(`${h.proxy}/v1/repositories/billing/x`, { headers: bearer(plain.secret) });
        await res.body.text();
        statuses.push(res.statusCode);
        if (i === 0) t.equal(res.headers['ratelimit-policy'], '"rate";q=2;w=3600');
      }
      t.same(statuses, [200, 200, 429]);
      t.equal((await call(h, 'GET', `/v1/tokens/${plain.token.id}/usage`, admin)).body.source, 'repository');
      const cleared = await call(h, 'PATCH', '/v1/repositories/billing', admin, { limits: null });
      t.equal(cleared.body.limits, null);
      const scoped = await h.token(['query', 'admin'], 'billing');
      t.equal((await call(h, 'PATCH', '/v1/repositories/billing', scoped.secret, { limits: null })).status, 403, 'only a * admin changes repositories');
    });

    t.test('the OpenAPI document describes limits and usage', async (t) => {
      const doc = (await call(h, 'GET', '/v1/openapi.json', undefined)).body;
      t.ok(doc.paths['/v1/tokens/{id}/usage']?.get);
      t.ok(doc.paths['/v1/repositories/{name}']?.patch);
      t.ok(doc.components.schemas.Limits);
    });
  });
}
