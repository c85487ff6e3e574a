import t, { type Test } from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { bearer, startHarness } from '../helpers/harness.js';

const backends = await persistentBackends(t);

for (const [backend, open] of Object.entries(backends)) {
  t.test(`admin API on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open() });
    t.teardown(() => h.close());
    const admin = h.adminSecret;

    t.test('probes answer without a token', async (t) => {
      t.equal((await call(h, 'GET', '/healthz', undefined)).status, 200);
      const ready = await call(h, 'GET', '/readyz', undefined);
      t.equal(ready.status, 200);
      t.equal(ready.body.store, backend);
    });

    t.test('metrics carry the documented names and no token, user or path labels', async (t) => {
      const res = await request(`${h.admin}/metrics`);
      const text = await res.body.text();
      for (const name of [
        'tollgate_requests_total',
        'tollgate_request_duration_seconds',
        'tollgate_auth_duration_seconds',
        'tollgate_cache_hits_total',
        'tollgate_cache_misses_total',
        'tollgate_cache_entries',
        'tollgate_invalidations_total',
        'tollgate_invalidation_lag_seconds',
        'tollgate_store_errors_total',
        'tollgate_store_up',
        'tollgate_upstream_errors_total',
        'tollgate_upstream_duration_seconds',
        'tollgate_request_bytes_total',
        'tollgate_response_bytes_total',
        'tollgate_inflight_requests',
        'tollgate_tokens',
        'process_cpu_seconds_total',
      ]) {
        t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
      }
      t.match(text, /^tollgate_tokens\{kind="repository",status="active"\} \d+$/m);
      t.notMatch(text, /tg[rp]_/);
      t.notMatch(text, /(user|path|repository|token)="/);
    });

    t.test('create a repository token: 201 with the secret once, then readable without it', async (t) => {
      const created = await call(h, 'POST', '/v1/tokens', admin, {
        kind: 'repository',
        name: 'ingest',
        repository: 'sensors',
        rights: ['stream', 'query'],
        expiresIn: '30d',
      });
      t.equal(created.status, 201);
      t.match(created.body.secret, /^tgr_[0-9A-Za-z]{49}$/);
      const token = created.body.token;
      t.match(token, {
        kind: 'repository',
        name: 'ingest',
        repository: 'sensors',
        user: null,
        rights: ['stream', 'query'],
        status: 'active',
        prefix: created.body.secret.slice(0, 12),
        revokedAt: null,
        lastUsedAt: null,
      });
      t.match(token.createdBy, /^token:[0-9a-f]{16}$/);
      t.equal(Date.parse(token.expiresAt) - Date.parse(token.createdAt), 30 * 86_400_000);
      const got = await call(h, 'GET', `/v1/tokens/${token.id}`, admin);
      t.equal(got.status, 200);
      t.same(got.body, token);
      t.notOk(JSON.stringify(got.body).includes(created.body.secret.slice(4)), 'the secret is never returned again');
      const history = await h.tollgate.store.history(token.id);
      t.same(
        history.map((e) => e.action),
        ['created'],
      );
      t.notOk(JSON.stringify(history).includes(created.body.secret.slice(4)), 'nor kept in history');
    });

    t.test('the created token works on the proxy at once', async (t) => {
      const created = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'q', repository: 'sensors', rights: ['query'] });
      const res = await request(`${h.proxy}/v1/repositories/sensors/query`, { headers: bearer(created.body.secret) });
      t.equal(res.statusCode, 200);
      await res.body.dump();
    });

    t.test('expiresAt in the future is kept; in the past is refused', async (t) => {
      const at = new Date(Date.now() + 86_400_000).toISOString();
      const ok = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'dated', repository: 'sensors', rights: ['query'], expiresAt: at });
      t.equal(ok.status, 201);
      t.equal(ok.body.token.expiresAt, at);
      const past = await call(h, 'POST', '/v1/tokens', admin, {
        kind: 'repository',
        name: 'x',
        repository: 'sensors',
        rights: ['query'],
        expiresAt: '2001-01-01T00:00:00Z',
      });
      t.equal(past.status, 400);
      t.match(past.body.detail, /^expiresAt: /);
    });

    t.test('every validation fault names its field', async (t) => {
      const res = await call(h, 'POST', '/v1/tokens', admin, {
        kind: 'group',
        name: '',
        repository: 'Bad Name',
        rights: ['read'],
        expiresIn: 'soon',
        colour: 'red',
      });
      t.equal(res.status, 400);
      t.equal(res.headers['content-type'], 'application/problem+json');
      t.equal(res.body.type, '/problems/invalid-request');
      const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
      t.same(fields, ['colour', 'expiresIn', 'kind', 'name', 'repository', 'rights.0']);
    });

    t.test('missing fields, both expiries, and an unknown repository are refused', async (t) => {
      const missing = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository' });
      // `repository` is optional for personal tokens, so its rule for repository tokens runs once the rest parses.
      t.same(missing.body.errors.map((e: { field: string }) => e.field).sort(), ['name', 'rights']);
      const both = await call(h, 'POST', '/v1/tokens', admin, {
        kind: 'repository',
        name: 'x',
        repository: 'sensors',
        rights: ['query'],
        expiresIn: '1d',
        expiresAt: '2099-01-01T00:00:00Z',
      });
      t.equal(both.status, 400);
      t.match(both.body.detail, /expiresAt: give expiresIn or expiresAt, not both/);
      const unknown = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'x', repository: 'nowhere', rights: ['query'] });
      t.equal(unknown.status, 400);
      t.match(unknown.body.detail, /^repository: no repository named nowhere/);
    });

    t.test('bad bodies: invalid JSON 400, wrong media type 415, over 1 MiB 413', async (t) => {
      t.equal((await call(h, 'POST', '/v1/tokens', admin, undefined, '{"kind":')).body.type, '/problems/invalid-json');
      const text = await request(`${h.admin}/v1/tokens`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'text/plain' }, body: 'x' });
      t.equal(text.statusCode, 415);
      await text.body.dump();
      const big = await call(h, 'POST', '/v1/tokens', admin, undefined, JSON.stringify({ name: 'x'.repeat(1 << 20) }));
      t.equal(big.status, 413);
    });

    t.test('a failed create leaves the store as it was', async (t) => {
      const before = [...(await h.tollgate.store.listTokens())].length;
      await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'x', repository: 'nowhere', rights: ['query'] });
      await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'x', repository: 'sensors', rights: [] });
      t.equal([...(await h.tollgate.store.listTokens())].length, before);
    });

    t.test('no token 401, a token without admin 403', async (t) => {
      const none = await call(h, 'GET', '/v1/repositories', undefined);
      t.equal(none.status, 401);
      t.equal(none.body.type, '/problems/missing-token');
      const data = await h.token(['query', 'stream']);
      const plain = await call(h, 'POST', '/v1/tokens', data.secret, { kind: 'repository', name: 'x', repository: 'sensors', rights: ['query'] });
      t.equal(plain.status, 403);
    });

    t.test('a sensors admin manages sensors only, and cannot make a * token', async (t) => {
      const scoped = await h.token(['admin', 'query'], 'sensors');
      const own = await call(h, 'POST', '/v1/tokens', scoped.secret, { kind: 'repository', name: 'scoped own', repository: 'sensors', rights: ['query'] });
      t.equal(own.status, 201);
      const wider = await call(h, 'POST', '/v1/tokens', scoped.secret, { kind: 'repository', name: 'x', repository: 'sensors', rights: ['stream'] });
      t.equal(wider.status, 403, 'no right it does not hold itself');
      t.match(wider.body.detail, /^rights: stream exceed/);
      t.equal(own.body.token.createdBy, `token:${scoped.token.id}`);
      const other = await call(h, 'POST', '/v1/tokens', scoped.secret, { kind: 'repository', name: 'x', repository: 'billing', rights: ['query'] });
      t.equal(other.status, 403);
      const star = await call(h, 'POST', '/v1/tokens', scoped.secret, { kind: 'repository', name: 'x', repository: '*', rights: ['query'] });
      t.equal(star.status, 403);
      const billing = await h.token(['query'], 'billing');
      t.equal((await call(h, 'GET', `/v1/tokens/${billing.token.id}`, scoped.secret)).status, 403);
      const repos = await call(h, 'GET', '/v1/repositories', scoped.secret);
      t.same(
        repos.body.items.map((r: { name: string }) => r.name),
        ['sensors'],
      );
    });

    t.test('repositories: a * admin creates them once; names are checked', async (t) => {
      const created = await call(h, 'POST', '/v1/repositories', admin, { name: 'weather' });
      t.equal(created.status, 201);
      t.equal(created.body.name, 'weather');
      t.equal((await call(h, 'POST', '/v1/repositories', admin, { name: 'weather' })).status, 409);
      const bad = await call(h, 'POST', '/v1/repositories', admin, { name: '../etc' });
      t.equal(bad.status, 400);
      t.match(bad.body.detail, /^name: /);
      const scoped = await h.token(['admin'], 'sensors');
      t.equal((await call(h, 'POST', '/v1/repositories', scoped.secret, { name: 'other' })).status, 403);
      const list = await call(h, 'GET', '/v1/repositories', admin);
      t.same(
        list.body.items.map((r: { name: string }) => r.name),
        ['billing', 'sensors', 'weather'],
      );
    });

    t.test('unknown token id 404, unknown route 404, wrong method 405', async (t) => {
      t.equal((await call(h, 'GET', '/v1/tokens/0123456789abcdef', admin)).status, 404);
      t.equal((await call(h, 'GET', '/v1/nothing', admin)).status, 404);
      t.equal((await call(h, 'PUT', '/healthz', admin)).status, 405);
    });
  });
}
