import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';

// HTTP manners of the admin port (issue #24): 405 names what is allowed, HEAD works wherever
// GET does, and the bare address leads to the page.
const h = await startHarness();
t.teardown(() => h.close());

t.test('405 answers carry Allow, with HEAD wherever GET is allowed', async (t) => {
  const res = await call(h, 'PUT', '/v1/tokens', h.adminSecret, {});
  t.equal(res.status, 405);
  t.equal(res.headers.allow, 'POST, GET, HEAD');
  t.equal(res.body.type, '/problems/method-not-allowed');
  t.match(res.body.detail, /allowed: POST, GET, HEAD/);
  const probe = await call(h, 'POST', '/healthz', undefined);
  t.equal(probe.headers.allow, 'GET, HEAD');
});

t.test('HEAD answers like GET, without a body', async (t) => {
  for (const path of ['/healthz', '/readyz', '/metrics', '/ui/', '/v1/openapi.json']) {
    const get = await request(`${h.admin}${path}`);
    await get.body.dump();
    const head = await request(`${h.admin}${path}`, { method: 'HEAD' });
    t.equal(head.statusCode, get.statusCode, path);
    t.equal(head.headers['content-type'], get.headers['content-type'], `${path}: same type`);
    t.equal(await head.body.text(), '', `${path}: no body`);
  }
  const listed = await request(`${h.admin}/v1/tokens`, { method: 'HEAD', headers: { authorization: `Bearer ${h.adminSecret}` } });
  await listed.body.dump();
  t.equal(listed.statusCode, 200, 'an API GET route too');
});

t.test('GET / leads to the admin page', async (t) => {
  const res = await request(`${h.admin}/`);
  await res.body.dump();
  t.equal(res.statusCode, 308);
  t.equal(res.headers.location, '/ui/');
});

t.test('an unknown path is still a 404, not a 405', async (t) => {
  const res = await call(h, 'GET', '/v2/nothing', h.adminSecret);
  t.equal(res.status, 404);
  t.equal(res.headers.allow, undefined);
});
