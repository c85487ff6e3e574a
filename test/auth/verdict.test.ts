import t from 'tap';
import { DENIALS, type DenyReason } from '../../src/auth/decision.js';
import { refusal, refusalHeaders } from '../../src/auth/verdict.js';

// A refusal is a value every port renders as it is: its status, problem and every header, merged
// by one rule (the reason's own fields, then what the step adds laid over them).

t.test('each reason refuses with its status, outcome and problem, and shares one frozen value', async (t) => {
  for (const reason of Object.keys(DENIALS) as DenyReason[]) {
    const verdict = refusal(reason);
    const denial = DENIALS[reason];
    t.same([verdict.allowed, verdict.status, verdict.outcome, verdict.right], [false, denial.status, denial.outcome, 'none'], reason);
    t.same(verdict.problem, { status: denial.status, type: denial.type, title: denial.title, detail: denial.detail }, reason);
    t.equal(refusal(reason), verdict, `${reason}: refusing allocates nothing`);
    t.ok(Object.isFrozen(verdict) && Object.isFrozen(verdict.problem), `${reason}: frozen`);
  }
  t.equal(refusal('insufficient_scope', 'stream').right, 'stream');
  t.not(refusal('insufficient_scope', 'stream'), refusal('insufficient_scope', 'query'));
});

t.test('the fixed headers: the RFC 6750 challenge on 401 and 403, Retry-After on 503, none otherwise', async (t) => {
  t.same({ ...refusal('missing_token').headers }, { 'www-authenticate': 'Bearer realm="tollgate"' });
  t.same({ ...refusal('invalid_token').headers }, { 'www-authenticate': 'Bearer realm="tollgate", error="invalid_token"' });
  t.same({ ...refusal('insufficient_scope', 'query').headers }, { 'www-authenticate': 'Bearer realm="tollgate", error="insufficient_scope"' });
  t.same({ ...refusal('store_unavailable').headers }, { 'retry-after': '1' });
  t.same({ ...refusal('jwt_keys_unavailable').headers }, { 'retry-after': '1' });
  t.equal(refusal('no_route').headers, undefined);
  t.equal(refusal('rate_limited').headers, undefined);
});

t.test("what the step adds is laid over the reason's own fields, on every reason alike", async (t) => {
  const limited = { 'retry-after': '7', 'ratelimit-policy': '"burst";q=10;w=1', ratelimit: '"burst";r=0;t=7' };
  t.same({ ...refusal('rate_limited', 'query', limited).headers }, limited);
  t.same({ ...refusal('store_unavailable', 'query', { ratelimit: 'x' }).headers }, { 'retry-after': '1', ratelimit: 'x' });
  t.same({ ...refusal('store_unavailable', 'query', { 'retry-after': '9' }).headers }, { 'retry-after': '9' }, 'the later value wins');
  t.same(
    { ...refusalHeaders('insufficient_scope', { ratelimit: 'x' }) },
    { 'www-authenticate': 'Bearer realm="tollgate", error="insufficient_scope"', ratelimit: 'x' },
  );
});
