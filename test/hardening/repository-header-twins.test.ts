import t from 'tap';
import { request } from 'undici';
import { startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// A route's `repositoryHeader` is read for the decision, so it is guarded like Tollgate's own
// x-tollgate-* fields. CGI, WSGI and PHP upstreams read `X_Repository` as `x-repository`
// (both are HTTP_X_REPOSITORY), so a twin Tollgate ignored named the repository upstream: it is
// refused with 400. A `Connection: x-repository` option would strip the field after it was
// authorized, leaving the upstream to pick a default: no Connection option removes it.

const h = await startHarness({
  config: {
    decision: { listen: '127.0.0.1:0' },
    routes: [{ path: '/v1/repositories/:repository/**' }, { path: '/ingest/**', repositoryHeader: 'x-repository' }],
  },
});
t.teardown(() => h.close());
const sensors = await h.token(['query']);
const decision = `http://127.0.0.1:${h.tollgate.decisionPort}`;

const send = (fields: string[]) =>
  rawRequest(
    h.tollgate.proxyPort,
    `GET /ingest/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sensors.secret}\r\n${fields.map((f) => `${f}\r\n`).join('')}Connection: close\r\n\r\n`,
  );

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test("the repository field's underscore twin is refused with 400, alone or beside the field", async (t) => {
  for (const fields of [['X_Repository: billing'], ['x_repository: sensors'], ['x-repository: sensors', 'X_REPOSITORY: billing']]) {
    const res = await send(fields);
    t.equal(res.status, 400, fields.join(', '));
    t.match(res.text, /\/problems\/ambiguous-header/);
  }
  t.equal(h.upstream.received.length, 0, 'nothing reached the upstream');
});

t.test('the twin is refused on the decision port too', async (t) => {
  const res = await request(`${decision}/auth`, {
    headers: { 'x-forwarded-uri': '/ingest/items', authorization: `Bearer ${sensors.secret}`, x_repository: 'billing' },
  });
  t.equal(res.statusCode, 400);
  t.match(await res.body.text(), /ambiguous-header/);
});

t.test('a Connection option naming the repository field does not remove it', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `GET /ingest/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sensors.secret}\r\nx-repository: sensors\r\nConnection: close, X-Repository\r\n\r\n`,
  );
  t.equal(res.status, 200);
  t.equal(h.upstream.received[0]?.headers['x-repository'], 'sensors', 'the field that was authorized is the field forwarded');
});

t.test('underscore names that are no twin of a field read for the decision still pass', async (t) => {
  const res = await send(['x-repository: sensors', 'x_request_source: batch', 'x_repositories: many']);
  t.equal(res.status, 200);
  t.equal(h.upstream.received[0]?.headers.x_request_source, 'batch');
});
