import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { bearer, startHarness } from '../helpers/harness.js';

// Usage history (docs/usage.md) through the admin API: what the proxy counted, per hour, read
// back as JSON and CSV, under the reach of reading the token.
const HOUR = 3_600_000;
const ANSWER = 'x'.repeat(1000);
const h = await startHarness({
  upstream: (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(ANSWER.length) });
      res.end(ANSWER);
    });
  },
});
t.teardown(() => h.close());
// On an hour boundary plus a little, so "this hour" is one known bucket.
h.clock.ms = Math.floor(h.clock.ms / HOUR) * HOUR + 60_000;
const start = h.clock.ms - 60_000;

async function send(secret: string, path: string, body?: string): Promise<number> {
  const res = await request(`${h.proxy}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: bearer(secret), body });
  await res.body.dump();
  return res.statusCode;
}

const reader = await h.token(['query', 'stream'], 'sensors');
const other = await h.token(['query'], 'billing');

t.test('allowed and refused requests and their bytes are counted in the hour they happened', async (t) => {
  for (let i = 0; i < 3; i++) t.equal(await send(reader.secret, '/v1/repositories/sensors/stream', 'y'.repeat(200)), 200);
  t.equal(await send(reader.secret, '/v1/repositories/billing/query'), 403, 'another repository is refused');
  h.clock.advance(HOUR);
  t.equal(await send(reader.secret, '/v1/repositories/sensors/query'), 200, 'the next hour');
  t.equal(await send(other.secret, '/v1/repositories/billing/query'), 200);
  await h.tollgate.flushUsage();

  const from = new Date(start).toISOString();
  const to = new Date(start + 2 * HOUR).toISOString();
  const reply = await call(h, 'GET', `/v1/tokens/${reader.token.id}/usage/history?from=${from}&to=${to}`, h.adminSecret);
  t.equal(reply.status, 200);
  t.same(reply.body, {
    id: reader.token.id,
    from,
    to,
    step: '1h',
    items: [
      { at: from, allowed: 3, refused: 1, refusedBy: { insufficient_scope: 1 }, bytesIn: 600, bytesOut: 3000 },
      { at: new Date(start + HOUR).toISOString(), allowed: 1, refused: 0, refusedBy: {}, bytesIn: 0, bytesOut: 1000 },
    ],
  });

  const daily = await call(h, 'GET', `/v1/tokens/${reader.token.id}/usage/history?from=${from}&to=${to}&step=1d`, h.adminSecret);
  t.equal(
    daily.body.items.reduce((sum: number, item: { allowed: number }) => sum + item.allowed, 0),
    4,
    'days sum the hours',
  );

  const csv = await request(`${h.admin}/v1/tokens/${reader.token.id}/usage/history?from=${from}&to=${to}`, {
    headers: { ...bearer(h.adminSecret), accept: 'text/csv' },
  });
  t.match(csv.headers['content-type'], /^text\/csv/);
  t.equal(
    await csv.body.text(),
    `at,allowed,refused,bytesIn,bytesOut,refused:insufficient_scope\r\n${from},3,1,600,3000,1\r\n${new Date(start + HOUR).toISOString()},1,0,0,1000,0\r\n`,
  );

  const top = await call(h, 'GET', `/v1/usage?from=${from}&to=${to}`, h.adminSecret);
  t.equal(top.status, 200);
  t.same(
    top.body.items.map((item: { id: string; allowed: number }) => [item.id, item.allowed]),
    [
      [reader.token.id, 4],
      [other.token.id, 1],
    ],
    'ranked by requests',
  );
  const billing = await call(h, 'GET', `/v1/usage?repository=billing&from=${from}&to=${to}&top=5`, h.adminSecret);
  t.same(
    billing.body.items.map((item: { id: string; name: string }) => [item.id, item.name]),
    [[other.token.id, other.token.name]],
  );
  const byBytes = await call(h, 'GET', `/v1/usage?from=${from}&to=${to}&by=bytesIn&top=1`, h.adminSecret);
  t.same(
    byBytes.body.items.map((item: { id: string }) => item.id),
    [reader.token.id],
  );

  const topCsv = await request(`${h.admin}/v1/usage?repository=billing&from=${from}&to=${to}`, { headers: { ...bearer(h.adminSecret), accept: 'text/csv' } });
  t.equal(await topCsv.body.text(), `id,name,repository,allowed,refused,bytesIn,bytesOut\r\n${other.token.id},${other.token.name},billing,1,0,0,1000\r\n`);
});

t.test('a bad query is a problem naming the field', async (t) => {
  const cases: Array<[string, string]> = [
    [`/v1/tokens/${reader.token.id}/usage/history?step=1w`, 'step'],
    [`/v1/tokens/${reader.token.id}/usage/history?from=yesterday`, 'from'],
    [`/v1/tokens/${reader.token.id}/usage/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`, 'from'],
    [`/v1/tokens/${reader.token.id}/usage/history?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, 'from'],
    [`/v1/tokens/${reader.token.id}/usage/history?colour=red`, 'colour'],
    ['/v1/usage?top=0', 'top'],
    ['/v1/usage?repository=Not%20a%20name', 'repository'],
    ['/v1/usage?by=mood', 'by'],
  ];
  for (const [path, field] of cases) {
    const reply = await call(h, 'GET', path, h.adminSecret);
    t.equal(reply.status, 400, path);
    t.equal(reply.headers['content-type'], 'application/problem+json', path);
    t.match(reply.body.errors, [{ field }], path);
  }
});

t.test('usage is read under the reach of reading the token', async (t) => {
  const scoped = await h.token(['admin', 'query'], 'billing');
  const from = new Date(start).toISOString();
  const to = new Date(start + 2 * HOUR).toISOString();
  const mine = await call(h, 'GET', `/v1/tokens/${other.token.id}/usage/history?from=${from}&to=${to}`, scoped.secret);
  t.equal(mine.status, 200, 'an admin of billing reads a billing token');
  const theirs = await call(h, 'GET', `/v1/tokens/${reader.token.id}/usage/history?from=${from}&to=${to}`, scoped.secret);
  const read = await call(h, 'GET', `/v1/tokens/${reader.token.id}`, scoped.secret);
  t.ok(theirs.status >= 400, 'a sensors token is not there for it');
  t.equal(theirs.status, read.status, 'refused as reading the token is');
  const top = await call(h, 'GET', `/v1/usage?from=${from}&to=${to}`, scoped.secret);
  t.same(
    top.body.items.map((item: { id: string }) => item.id),
    [other.token.id],
    'the top list holds only what it may read',
  );
  const plain = await call(h, 'GET', `/v1/usage?from=${from}&to=${to}`, other.secret);
  t.equal(plain.status, 403, 'a token without admin may not');
});

t.test("organization= keeps the tokens of that organization's repositories and of its @org scope", async (t) => {
  const admin = async (method: string, path: string, body?: unknown) => {
    const reply = await call(h, method, path, h.adminSecret, body);
    t.ok(reply.status < 300, `${method} ${path}`);
    return reply.body;
  };
  await admin('POST', '/v1/organizations', { name: 'acme' });
  await admin('POST', '/v1/repositories', { name: 'plant', organization: 'acme' });
  const plant = await admin('POST', '/v1/tokens', { kind: 'repository', name: 'plant reader', repository: 'plant', rights: ['query'] });
  const wide = await admin('POST', '/v1/tokens', { kind: 'repository', name: 'acme wide', repository: '@acme', rights: ['query'] });
  t.equal(await send(plant.secret, '/v1/repositories/plant/query'), 200);
  t.equal(await send(wide.secret, '/v1/repositories/plant/query'), 200);
  t.equal(await send(wide.secret, '/v1/repositories/sensors/query'), 403, 'an @acme token does not reach the default organization');
  await h.tollgate.flushUsage();
  const from = new Date(start).toISOString();
  const to = new Date(h.clock.ms + HOUR).toISOString();
  const ids = async (query: string) =>
    ((await admin('GET', `/v1/usage?${query}&from=${from}&to=${to}&top=100`)).items as Array<{ id: string }>).map((item) => item.id).sort();
  t.same(await ids('organization=acme'), [plant.token.id, wide.token.id].sort());
  t.same(await ids('organization=default'), [reader.token.id, other.token.id].sort());
  t.same(await ids('organization=globex'), []);
  const bad = await call(h, 'GET', '/v1/usage?organization=Not%20a%20name', h.adminSecret);
  t.equal(bad.status, 400);
  t.match(bad.body.errors, [{ field: 'organization' }]);
});
