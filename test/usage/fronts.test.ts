import t from 'tap';
import { request } from 'undici';
import { curl } from '../helpers/curl.js';
import { bearer, startHarness } from '../helpers/harness.js';

// Every front counts a token's usage (docs/usage.md): HTTP/2 streams their bytes like HTTP/1.1
// exchanges, and the decision port its verdicts (no bytes: the peer in front moves them).
const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
t.teardown(() => h.close());
const HOUR = 3_600_000;
const window = () => [h.clock.now() - HOUR, h.clock.now() + HOUR] as const;
const total = async (id: string) => {
  const hours = await h.tollgate.store.usageOf(id, ...window());
  return hours.reduce(
    (sum, hour) => ({
      allowed: sum.allowed + hour.allowed,
      refused: sum.refused + Object.values(hour.refused).reduce((a, b) => a + b, 0),
      bytesIn: sum.bytesIn + hour.bytesIn,
      bytesOut: sum.bytesOut + hour.bytesOut,
    }),
    { allowed: 0, refused: 0, bytesIn: 0, bytesOut: 0 },
  );
};

t.test('an HTTP/2 upload is counted with its bytes', async (t) => {
  const token = await h.token(['stream']);
  const body = Buffer.alloc(4096, 1);
  const res = await curl(
    [
      '--http2-prior-knowledge',
      '-H',
      `authorization: ${bearer(token.secret).authorization}`,
      '--data-binary',
      '@-',
      `${h.proxy}/v1/repositories/sensors/stream`,
    ],
    body,
  );
  t.equal(res.status, 200);
  t.equal(res.httpVersion, '2');
  await h.tollgate.flushUsage();
  t.same(await total(token.token.id), { allowed: 1, refused: 0, bytesIn: 4096, bytesOut: Buffer.byteLength(res.body) });
});

t.test('the decision port counts what it allows and refuses', async (t) => {
  const token = await h.token(['query']);
  const ask = async (uri: string) => {
    const res = await request(`http://127.0.0.1:${h.tollgate.decisionPort}/`, {
      headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': uri, ...bearer(token.secret) },
    });
    await res.body.dump();
    return res.statusCode;
  };
  t.equal(await ask('/v1/repositories/sensors/query'), 200);
  t.equal(await ask('/v1/repositories/billing/query'), 403);
  await h.tollgate.flushUsage();
  t.same(await total(token.token.id), { allowed: 1, refused: 1, bytesIn: 0, bytesOut: 0 });
});
