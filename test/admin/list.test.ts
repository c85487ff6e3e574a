import t, { type Test } from 'tap';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { startHarness } from '../helpers/harness.js';

const backends = await persistentBackends(t);

for (const [backend, open] of Object.entries(backends)) {
  t.test(`listing and search on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({ store: await open() });
    t.teardown(() => h.close());
    const admin = h.adminSecret;
    await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'] } });
    const made: Record<string, { id: string; secret: string }> = {};
    const specs = [
      { name: 'Ingest Alpha', repository: 'sensors', rights: ['stream'] },
      { name: 'ingest beta', repository: 'billing', rights: ['stream'] },
      { name: 'Reader', repository: 'sensors', rights: ['query'] },
      { name: 'reader', repository: 'billing', rights: ['query'] },
      { name: 'Phone', repository: 'sensors', rights: ['query'], kind: 'personal', user: 'alice' },
    ];
    for (const spec of specs) {
      h.clock.advance(1000);
      const res = await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', ...spec });
      made[spec.name] = { id: res.body.token.id, secret: res.body.secret };
    }
    await call(h, 'POST', `/v1/tokens/${made.Reader!.id}/revoke`, admin);
    const names = (body: { items: Array<{ name: string }> }) => body.items.map((i) => i.name);
    const list = async (query: string, secret = admin) => (await call(h, 'GET', `/v1/tokens?${query}`, secret)).body;

    t.test('q is partial and case-insensitive over name, prefix, user, repository and id', async (t) => {
      t.same(names(await list('q=INGEST&sort=name')), ['Ingest Alpha', 'ingest beta']);
      t.same(names(await list('q=alic')), ['Phone']);
      t.same(names(await list('q=billin&sort=name')).sort(), ['ingest beta', 'reader']);
      t.same(names(await list(`q=${made.Reader!.id.slice(3, 11)}`)), ['Reader']);
      const prefix = made.Reader!.secret.slice(0, 12);
      t.same(names(await list(`q=${prefix.toUpperCase()}`)), ['Reader']);
    });

    t.test('a whole secret finds its token, and nothing else', async (t) => {
      const page = await list(`q=${made.Phone!.secret}`);
      t.same(names(page), ['Phone']);
      t.equal(page.total, 1);
    });

    t.test('filters narrow by status, kind, repository and user', async (t) => {
      t.same(names(await list('status=revoked')), ['Reader']);
      t.same(names(await list('kind=personal')), ['Phone']);
      t.same(names(await list('user=alice')), ['Phone']);
      t.same(names(await list('repository=billing&sort=name')), ['ingest beta', 'reader']);
      t.equal((await list('status=active&repository=sensors')).total, 2);
    });

    t.test('sort on two columns, priority left to right, - for descending', async (t) => {
      const page = await list('q=e&sort=repository,-name');
      const rows = page.items.map((i: { repository: string; name: string }) => `${i.repository}/${i.name}`);
      t.same(rows, ['*/test admin', 'billing/reader', 'billing/ingest beta', 'sensors/Reader', 'sensors/Phone', 'sensors/Ingest Alpha']);
      const byStatus = await list('sort=status,createdAt&repository=sensors');
      t.same(names(byStatus), ['Ingest Alpha', 'Phone', 'Reader'], 'active before revoked, then oldest first');
    });

    t.test('the default order is newest first', async (t) => {
      t.same(names(await list('limit=2')), ['Phone', 'reader']);
    });

    t.test('cursors page through every match once, with the total on each page', async (t) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { items: Array<{ name: string }>; total: number; nextCursor: string | null } = await list(
          `sort=name&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        t.equal(page.total, 6);
        seen.push(...names(page));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      t.equal(pages, 3);
      t.same(seen, ['Ingest Alpha', 'ingest beta', 'Phone', 'reader', 'Reader', 'test admin'], 'locale order: lower case first on a tie');
    });

    t.test('bad list parameters are 400 naming the parameter', async (t) => {
      const badSort = await call(h, 'GET', '/v1/tokens?sort=colour', admin);
      t.equal(badSort.status, 400);
      t.match(badSort.body.detail, /^sort: unknown sort field "colour"/);
      const cursor = (await list('sort=name&limit=1')).nextCursor;
      const otherSort = await call(h, 'GET', `/v1/tokens?sort=-name&cursor=${cursor}`, admin);
      t.equal(otherSort.status, 400);
      t.match(otherSort.body.detail, /^cursor: /);
      t.match((await call(h, 'GET', '/v1/tokens?limit=501', admin)).body.detail, /^limit: /);
      t.match((await call(h, 'GET', '/v1/tokens?status=gone', admin)).body.detail, /^status: /);
      t.match((await call(h, 'GET', '/v1/tokens?colour=red', admin)).body.detail, /^colour: unknown field/);
    });

    t.test('a sensors admin sees sensors tokens only', async (t) => {
      const scoped = await h.token(['admin'], 'sensors');
      const page = await list('sort=name', scoped.secret);
      t.ok(page.items.length > 0);
      t.ok(page.items.every((i: { repository: string }) => i.repository === 'sensors'));
      t.same(names(await list(`q=${made.reader!.secret}`, scoped.secret)), [], 'not even by its secret');
    });
  });
}
