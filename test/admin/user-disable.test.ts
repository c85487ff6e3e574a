import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { bearer, startHarness } from '../helpers/harness.js';

// PATCH /v1/users/{name} {disabled}: a disabled user's personal tokens are refused on every port
// and their open exchanges end; enabling the user lets the same tokens in again.
const h = await startHarness({
  upstream: (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n'); // held open
  },
});
t.teardown(() => h.close());
const admin = h.adminSecret;
const made = await call(h, 'POST', '/v1/users', admin, { name: 'alice', grants: { sensors: ['query'] } });
if (made.status !== 201) throw new Error(`setup: ${made.status}`);
const personal = await h.tollgate.tokens.createUnchecked('test', { kind: 'personal', name: 'alice laptop', user: 'alice', repository: '*', rights: ['query'] });

t.test('the body needs grants or disabled, and disabled must be a boolean', async (t) => {
  t.equal((await call(h, 'PATCH', '/v1/users/alice', admin, {})).status, 400);
  t.equal((await call(h, 'PATCH', '/v1/users/alice', admin, { disabled: 'yes' })).status, 400);
  const shown = await call(h, 'GET', '/v1/users/alice', admin);
  t.equal(shown.body.disabled, false);
});

t.test('disabling ends an open download of a personal token and refuses it on both ports', async (t) => {
  const download = await request(`${h.proxy}/v1/repositories/sensors/events`, { headers: bearer(personal.secret) });
  t.equal(download.statusCode, 200);
  const cut = new Promise<string>((resolve) => {
    download.body.on('error', () => resolve('cut'));
    download.body.on('end', () => resolve('ended'));
    download.body.resume();
  });
  const edited = await call(h, 'PATCH', '/v1/users/alice', admin, { disabled: true });
  t.equal(edited.status, 200);
  t.same([edited.body.disabled, edited.body.grants], [true, { sensors: ['query'] }], 'the grants stay as they were');
  t.equal(await cut, 'cut');
  const refused = await request(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(personal.secret) });
  const problem = (await refused.body.json()) as { detail: string };
  t.equal(refused.statusCode, 401);
  t.match(problem.detail, /disabled/);
  t.equal((await call(h, 'GET', '/v1/users/alice', personal.secret)).status, 401, 'the admin port refuses it too');
});

t.test('enabling the user again lets the same token in', async (t) => {
  t.equal((await call(h, 'PATCH', '/v1/users/alice', admin, { disabled: false })).body.disabled, false);
  const again = await request(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(personal.secret) });
  t.equal(again.statusCode, 200);
  again.body.destroy();
});
