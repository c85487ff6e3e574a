import t from 'tap';
import { classifyUpstreamError } from '../../src/proxy/upstream-errors.js';

// Every error code undici or the socket layer reports, as the status, problem type and metric
// reason the client and the dashboards see (docs/data-plane.md).
const CASES: Array<[code: string | undefined, status: number, reason: string, type: string]> = [
  ['UND_ERR_CONNECT_TIMEOUT', 504, 'timeout', '/problems/upstream-timeout'],
  ['UND_ERR_HEADERS_TIMEOUT', 504, 'timeout', '/problems/upstream-timeout'],
  ['UND_ERR_BODY_TIMEOUT', 504, 'timeout', '/problems/upstream-timeout'],
  ['ETIMEDOUT', 504, 'timeout', '/problems/upstream-timeout'],
  ['ECONNREFUSED', 502, 'refused', '/problems/upstream-unreachable'],
  ['EHOSTUNREACH', 502, 'refused', '/problems/upstream-unreachable'],
  ['ENOTFOUND', 502, 'refused', '/problems/upstream-unreachable'],
  ['EAI_AGAIN', 502, 'refused', '/problems/upstream-unreachable'],
  ['ECONNRESET', 502, 'reset', '/problems/upstream-reset'],
  ['EPIPE', 502, 'reset', '/problems/upstream-reset'],
  ['UND_ERR_SOCKET', 502, 'reset', '/problems/upstream-reset'],
  ['UND_ERR_CLOSED', 502, 'reset', '/problems/upstream-reset'],
  ['UND_ERR_ABORTED', 502, 'other', '/problems/upstream-error'],
  [undefined, 502, 'other', '/problems/upstream-error'],
];

for (const [code, status, reason, type] of CASES) {
  t.test(String(code), async (t) => {
    const failure = classifyUpstreamError(Object.assign(new Error('x'), code === undefined ? {} : { code }));
    t.same([failure.status, failure.reason, failure.type], [status, reason, type]);
  });
}

t.test('a thrown non-error (undefined, a string) is "other", not a crash', async (t) => {
  t.equal(classifyUpstreamError(undefined).reason, 'other');
  t.equal(classifyUpstreamError('boom').reason, 'other');
});
