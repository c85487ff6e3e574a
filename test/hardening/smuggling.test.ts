import t from 'tap';
import { bearer, startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// Each case: a request that is ambiguous about where it ends, followed on the same connection by
// a request for billing with no token. Neither may reach the upstream.
const h = await startHarness();
t.teardown(() => h.close());
const token = await h.token(['stream', 'query']);
const auth = `Authorization: ${bearer(token.secret).authorization}`;
const smuggled = 'GET /v1/repositories/billing/query HTTP/1.1\r\nHost: x\r\n\r\n';

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

const cases: Record<string, string> = {
  'Content-Length with Transfer-Encoding': `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
  'two differing Content-Length headers': `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Length: 4\r\nContent-Length: 60\r\n\r\nabcd${smuggled}`,
  'obsolete line folding': `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Length: 4\r\n foo\r\n\r\nabcd${smuggled}`,
  'a Transfer-Encoding other than chunked': `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nTransfer-Encoding: gzip\r\n\r\nabcd${smuggled}`,
  'chunked not last in Transfer-Encoding': `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
  'bare LF line endings': `POST /v1/repositories/sensors/stream HTTP/1.1\nHost: x\n${auth}\nContent-Length: 4\n\nabcd${smuggled}`,
  'a space before the colon': `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Length : 4\r\n\r\nabcd${smuggled}`,
};

for (const [name, payload] of Object.entries(cases)) {
  t.test(`${name}: 400, and nothing reaches the upstream`, async (t) => {
    const res = await rawRequest(h.tollgate.proxyPort, payload);
    t.equal(res.status, 400);
    t.equal(res.text.match(/^HTTP\/1\.1 /gm)?.length, 1, 'one response, then the connection closes');
    t.equal(h.upstream.received.length, 0);
  });
}

t.test('a well-formed chunked upload followed by a second request: each is checked on its own', async (t) => {
  const res = await rawRequest(
    h.tollgate.proxyPort,
    `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\n${auth}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n` +
      'GET /v1/repositories/billing/query HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  const statuses = [...res.text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
  t.same(statuses, [200, 401]);
  t.same(
    h.upstream.received.map((r) => [r.url, r.bytes]),
    [['/v1/repositories/sensors/stream', 4]],
  );
});
