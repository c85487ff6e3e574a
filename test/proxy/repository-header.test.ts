import t from 'tap';
import { request } from 'undici';
import { faultsOf, fromYaml } from '../helpers/config.js';
import { bearer, startHarness } from '../helpers/harness.js';

// A route without :repository may name its repository in a request field (`repositoryHeader`);
// on HTTP/1.1 as on gRPC, the token must cover the repository named there.
const h = await startHarness({
  config: { routes: [{ path: '/v1/repositories/:repository/**' }, { path: '/ingest/**', repositoryHeader: 'X-Repository' }] },
});
t.teardown(() => h.close());
const sensors = await h.token(['query']);
const everywhere = await h.token(['query'], '*');

const get = (secret: string, headers: Record<string, string | string[]> = {}) =>
  request(`${h.proxy}/ingest/items`, { headers: { ...bearer(secret), ...headers } });

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('the repository named in the field is the one checked and forwarded', async (t) => {
  const res = await get(everywhere.secret, { 'x-repository': 'billing' });
  t.equal(res.statusCode, 200);
  await res.body.dump();
  t.equal(h.upstream.received[0]!.headers['x-tollgate-repository'], 'billing');
});

t.test('a repository token is refused for another repository named in the field', async (t) => {
  const res = await get(sensors.secret, { 'x-repository': 'billing' });
  t.equal(res.statusCode, 403);
  t.match(await res.body.json(), { type: '/problems/insufficient-scope' });
  t.equal(h.upstream.received.length, 0);
});

t.test('the field matches without case and names its own repository', async (t) => {
  const res = await get(sensors.secret, { 'X-REPOSITORY': 'sensors' });
  t.equal(res.statusCode, 200);
  await res.body.dump();
  t.equal(h.upstream.received[0]!.headers['x-tollgate-repository'], 'sensors');
});

t.test("without the field the token's own repository is used", async (t) => {
  const res = await get(sensors.secret);
  t.equal(res.statusCode, 200);
  await res.body.dump();
  t.equal(h.upstream.received[0]!.headers['x-tollgate-repository'], 'sensors');
});

t.test('a value that is no repository name, or two values, are refused', async (t) => {
  for (const value of ['Not A Name', '../billing', '*', ['sensors', 'billing']]) {
    const res = await get(everywhere.secret, { 'x-repository': value });
    t.equal(res.statusCode, 403, JSON.stringify(value));
    await res.body.dump();
  }
  t.equal(h.upstream.received.length, 0);
});

t.test('repositoryHeader must be a header name', async (t) => {
  const faults = faultsOf(() => fromYaml(t, 'routes:\n  - { path: /a/**, repositoryHeader: "x repo" }\n'));
  t.same(faults, ['routes.0.repositoryHeader: expected a header name such as x-repository, got "x repo"']);
});
