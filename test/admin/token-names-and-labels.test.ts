import t, { type Test } from 'tap';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { FakeClock } from '../helpers/fakes.js';
import { type Harness, startHarness } from '../helpers/harness.js';

// Token names are unique per repository (personal tokens: per user), a revoked token keeps its
// name until deleted, and labels are shown and searched but never authorize (docs/tokens.md,
// "Names", "Labels"; docs/admin-api.md), on both persistent stores.

const backends = await persistentBackends(t);

async function made(h: Harness, secret: string, body: Record<string, unknown>) {
  const res = await call(h, 'POST', '/v1/tokens', secret, { kind: 'repository', repository: 'sensors', rights: ['query'], ...body });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as {
    token: { id: string; name: string; status: string; rolledTo: string | null; expiresAt: string | null; labels: Record<string, string>; selfRotate: boolean };
    secret: string;
  };
}

for (const [backend, open] of Object.entries(backends)) {
  t.test(`token names and labels on the ${backend} store`, async (t: Test) => {
    const clock = new FakeClock(Date.UTC(2026, 11, 3, 6, 0, 0));
    const h = await startHarness({ store: await open(), clock });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'] } });

    t.test('names are unique per repository: a second create or a rename to a taken name is a 409 naming name', async (t) => {
      await made(h, admin, { name: 'laptop-a' });
      const twice = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'laptop-a', repository: 'sensors', rights: ['query'] });
      t.equal(twice.status, 409);
      t.equal(twice.body.type, '/problems/conflict');
      t.match(twice.body.detail, /^name: repository sensors already has a token named "laptop-a"/);
      const elsewhere = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'laptop-a', repository: 'billing', rights: ['query'] });
      t.equal(elsewhere.status, 201, 'another repository is another scope');
      const other = await made(h, admin, { name: 'laptop-b' });
      const rename = await call(h, 'PATCH', `/v1/tokens/${other.token.id}`, admin, { name: 'laptop-a' });
      t.equal(rename.status, 409);
      t.match(rename.body.detail, /^name: /);
    });

    t.test('a revoked token keeps its name until it is deleted', async (t) => {
      const gone = await made(h, admin, { name: 'phone' });
      await call(h, 'POST', `/v1/tokens/${gone.token.id}/revoke`, admin);
      t.equal((await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'phone', repository: 'sensors', rights: ['query'] })).status, 409);
      t.equal((await call(h, 'DELETE', `/v1/tokens/${gone.token.id}`, admin)).status, 204);
      t.equal((await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', name: 'phone', repository: 'sensors', rights: ['query'] })).status, 201);
    });

    t.test('personal token names are unique per user', async (t) => {
      const first = await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', user: 'alice', name: 'laptop', rights: ['query'] });
      t.equal(first.status, 201);
      const second = await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', user: 'alice', name: 'laptop', repository: 'sensors', rights: ['query'] });
      t.equal(second.status, 409, 'another repository, the same user');
      t.match(second.body.detail, /^name: user alice already has a token named "laptop"/);
    });

    t.test('two creates of one name at once: exactly one is made', async (t) => {
      const body = { kind: 'repository', name: 'raced', repository: 'sensors', rights: ['query'] };
      const replies = await Promise.all([1, 2, 3].map(() => call(h, 'POST', '/v1/tokens', admin, body)));
      t.same(replies.map((r) => r.status).sort(), [201, 409, 409]);
    });

    t.test('labels are shown, searched by q and filtered by label=key=value; they never authorize', async (t) => {
      const labelled = await made(h, admin, { name: 'scraper', labels: { owner: 'team-a', pipeline: 'nightly' } });
      t.same(labelled.token.labels, { owner: 'team-a', pipeline: 'nightly' });
      const byLabel = (await call(h, 'GET', '/v1/tokens?label=owner%3Dteam-a', admin)).body.items as Array<{ id: string }>;
      t.same(
        byLabel.map((x) => x.id),
        [labelled.token.id],
      );
      const byQ = (await call(h, 'GET', '/v1/tokens?q=nightly', admin)).body.items as Array<{ id: string }>;
      t.same(
        byQ.map((x) => x.id),
        [labelled.token.id],
      );
      const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
      const refused = await call(h, 'POST', '/v1/tokens', admin, {
        kind: 'repository',
        name: 'many',
        repository: 'sensors',
        rights: ['query'],
        labels: tooMany,
      });
      t.equal(refused.status, 400);
      t.match(refused.body.detail, /labels: expected at most 16 labels/);
      const edited = await call(h, 'PATCH', `/v1/tokens/${labelled.token.id}`, admin, { labels: { owner: 'team-b' } });
      t.same(edited.body.labels, { owner: 'team-b' }, 'an edit replaces them');
      const history = (await call(h, 'GET', `/v1/tokens/${labelled.token.id}/history`, admin)).body.items as Array<{
        action: string;
        changes: Record<string, unknown>;
      }>;
      t.ok(history.at(-1)!.changes.labels, 'the history records the change');
    });
  });
}
