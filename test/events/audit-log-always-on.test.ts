import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { runToEnd } from '../helpers/cli.js';
import { startHarness } from '../helpers/harness.js';

// The audit log (docs/admin-api.md, "Events"): every admin change is an event kept for
// events.retention whether or not a webhook is configured, listed by GET /v1/events with its
// filters. On both persistent stores, with no webhook at all.

const backends = await persistentBackends(t);

for (const [backend, open] of Object.entries(backends)) {
  t.test(`the audit log with no webhook on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open() });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    const made = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'audited', repository: 'sensors', rights: ['query'] });
    const id = made.body.token.id as string;
    await call(h, 'POST', `/v1/tokens/${id}/revoke`, admin);
    await call(h, 'POST', '/v1/users', admin, { name: 'ada', grants: {} });

    t.test('every change is listed, newest first', async (t) => {
      const events = (await call(h, 'GET', '/v1/events', admin)).body.items as Array<{
        type: string;
        data: { id?: string; name?: string };
        deliveries: unknown[];
      }>;
      t.same(
        events.slice(0, 3).map((e) => e.type),
        ['user.created', 'token.revoked', 'token.created'],
      );
      t.same(events[0]!.deliveries, [], 'no webhook: nothing to deliver, and kept all the same');
    });

    t.test('filters: type and token', async (t) => {
      const revoked = (await call(h, 'GET', '/v1/events?type=token.revoked', admin)).body.items as Array<{ data: { id: string } }>;
      t.same(
        revoked.map((e) => e.data.id),
        [id],
      );
      const ofToken = (await call(h, 'GET', `/v1/events?token=${id}`, admin)).body.items as Array<{ type: string }>;
      t.same(
        ofToken.map((e) => e.type),
        ['token.revoked', 'token.created'],
      );
      t.equal((await call(h, 'GET', '/v1/events?token=nope', admin)).status, 400);
    });

    t.test('each change names its actor, and actor= filters by it', async (t) => {
      const adminId = (await call(h, 'GET', '/v1/whoami', admin)).body.token.id as string;
      const mine = (await call(h, 'GET', `/v1/events?actor=token:${adminId}`, admin)).body.items as Array<{ type: string; actor: string }>;
      t.same(
        mine.slice(0, 2).map((e) => [e.type, e.actor]),
        [
          ['token.revoked', `token:${adminId}`],
          ['token.created', `token:${adminId}`],
        ],
      );
      t.same((await call(h, 'GET', '/v1/events?actor=nobody', admin)).body.items, []);
    });

    t.test('tollgate events shows them with the actor by name; --token filters', async (t) => {
      const env = { TOLLGATE_TOKEN: admin, TOLLGATE_ADMIN_URL: h.admin };
      const table = await runToEnd(['events', '--token', id], env);
      t.equal(table.code, 0, table.stderr);
      t.match(table.stdout, /^WHEN +BY +TYPE +SUBJECT/);
      t.match(table.stdout, new RegExp(`\\n\\S+ \\S+ +"test admin" \\([0-9a-f]{8}…\\) +token\\.revoked +"audited" ${id}`));
      t.notMatch(table.stdout, /user\.created/, 'only that token');
      t.notMatch(table.stdout, /no webhook is configured/);
    });
  });
}

t.test('events.retention: 30 days by default, from 1d to 400d', async (t) => {
  t.equal(loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env: {} }).events.retention, 30 * 86_400_000);
  t.equal(loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env: { TOLLGATE_EVENTS_RETENTION: '90d' } }).events.retention, 90 * 86_400_000);
  t.throws(
    () => loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env: { TOLLGATE_EVENTS_RETENTION: '500d' } }),
    /events\.retention: expected a duration from 1d to 400d/,
  );
});
