import t from 'tap';
import { request } from 'undici';
import { bearer, startHarness } from '../helpers/harness.js';

// A token's limits hold on the decision port as on the proxy port: each question spends one
// request of the rate, holds a stream slot only while it is answered, and the RateLimit fields
// come back for the proxy in front to pass on.
const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
t.teardown(() => h.close());
const decision = `http://127.0.0.1:${h.tollgate.decisionPort}`;
const ask = async (secret: string) => {
  const res = await request(`${decision}/auth`, {
    headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/v1/repositories/sensors/query', ...bearer(secret) },
  });
  await res.body.dump();
  return res;
};

t.test('a rate of 3 per hour: three answers of 200 with RateLimit fields, then 429 with Retry-After', async (t) => {
  const { secret } = await h.token(['query'], 'sensors', { limits: { rate: { requests: 3, per: '1h' } } });
  for (let i = 0; i < 3; i++) {
    const res = await ask(secret);
    t.equal(res.statusCode, 200);
    t.match(res.headers['ratelimit-policy'], /"rate";q=3;w=3600/);
    t.match(res.headers.ratelimit, /"rate";r=\d+;t=\d+/);
  }
  const refused = await ask(secret);
  t.equal(refused.statusCode, 429);
  t.ok(Number(refused.headers['retry-after']) > 0);
  t.match(refused.headers['ratelimit-policy'], /"rate";q=3/);
});

t.test('streams: 1 does not refuse questions asked one after another (the slot goes back with each answer)', async (t) => {
  const { secret } = await h.token(['query'], 'sensors', { limits: { streams: 1 } });
  for (let i = 0; i < 5; i++) t.equal((await ask(secret)).statusCode, 200, `question ${i + 1}`);
});
