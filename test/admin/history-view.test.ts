import t from 'tap';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';

// History as the API shows it holds only what changed: a creation records every field as
// `null -> value`, and the empty ones (a repository token's user, no expiry, no parent) read as
// `null -> null` noise on the admin page and in the CLI.

const h = await startHarness();
t.teardown(() => h.close());
await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'alice', grants: { sensors: ['query'] } });

type Changes = Record<string, { from: unknown; to: unknown }>;
const historyOf = async (path: string) => (await call(h, 'GET', path, h.adminSecret)).body.items as { action: string; changes: Changes }[];
const noop = (changes: Changes) =>
  Object.entries(changes)
    .filter(([, change]) => JSON.stringify(change.from) === JSON.stringify(change.to))
    .map(([field]) => field);

t.test('a token made without user, expiry or parent: its creation names only what it set', async (t) => {
  const made = await h.token(['query'], 'sensors', { name: 'plain' });
  const [created] = await historyOf(`/v1/tokens/${made.token.id}/history`);
  t.equal(created!.action, 'created');
  t.same(Object.keys(created!.changes).sort(), ['kind', 'name', 'repository', 'rights']);
  t.same(created!.changes.name, { from: null, to: 'plain' });
});

t.test('a personal token made by a token keeps its user, expiry and whether it is lent; later entries keep their changes', async (t) => {
  const made = (
    await call(h, 'POST', '/v1/tokens', h.adminSecret, {
      kind: 'personal',
      name: 'phone',
      user: 'alice',
      repository: 'sensors',
      rights: ['query'],
      expiresIn: '7d',
    })
  ).body;
  await call(h, 'POST', `/v1/tokens/${made.token.id}/revoke`, h.adminSecret);
  const [created, revoked] = await historyOf(`/v1/tokens/${made.token.id}/history`);
  // Independent: no maker to name (createdBy names who made it).
  t.same(Object.keys(created!.changes).sort(), ['expiresAt', 'kind', 'lent', 'name', 'repository', 'rights', 'user']);
  t.same(created!.changes.lent, { from: null, to: false });
  t.same(created!.changes.user, { from: null, to: 'alice' });
  t.same(revoked!.changes, { status: { from: 'active', to: 'revoked' } });
  t.same(noop(created!.changes), []);
});

t.test("a lent token's creation names its maker", async (t) => {
  const made = (await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'repository', name: 'lent', repository: 'sensors', rights: ['query'], lend: true }))
    .body;
  const [created] = await historyOf(`/v1/tokens/${made.token.id}/history`);
  t.same(created!.changes.lent, { from: null, to: true });
  t.same(created!.changes.parentId, { from: null, to: made.token.parentId });
});

t.test('a team history leaves unchanged fields out too', async (t) => {
  await call(h, 'POST', '/v1/teams', h.adminSecret, { name: 'platform', members: [], grants: {} });
  await call(h, 'PATCH', '/v1/teams/platform', h.adminSecret, { members: ['alice'], grants: {} });
  const entries = await historyOf('/v1/teams/platform/history');
  t.equal(entries.length, 2);
  t.same(
    entries.flatMap((entry) => noop(entry.changes)),
    [],
    'no change that changed nothing',
  );
  t.ok(Object.hasOwn(entries[1]!.changes, 'members'), 'the members that did change are kept');
});
