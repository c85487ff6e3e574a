import t from 'tap';
import { invalidResponse, poolClosed, socketFault, UpstreamFault, upstreamClosed, upstreamTimeout } from '../../src/proxy/upstream-fault.js';

// Every socket error code Node reports for an upstream, as the status, problem type and metric
// reason the client and the dashboards see (docs/data-plane.md), and whether a fresh socket may
// carry the request again.
const CASES: Array<[code: string | undefined, status: number, reason: string, type: string, retryable: boolean]> = [
  ['ETIMEDOUT', 504, 'timeout', '/problems/upstream-timeout', true],
  ['ECONNREFUSED', 502, 'refused', '/problems/upstream-unreachable', true],
  ['EHOSTUNREACH', 502, 'refused', '/problems/upstream-unreachable', true],
  ['ENOTFOUND', 502, 'refused', '/problems/upstream-unreachable', true],
  ['EAI_AGAIN', 502, 'refused', '/problems/upstream-unreachable', true],
  ['ECONNRESET', 502, 'reset', '/problems/upstream-reset', true],
  ['EPIPE', 502, 'reset', '/problems/upstream-reset', true],
  ['ERR_SOCKET_CLOSED', 502, 'other', '/problems/upstream-error', true],
  [undefined, 502, 'other', '/problems/upstream-error', true],
];

for (const [code, status, reason, type, retryable] of CASES) {
  t.test(String(code), async (t) => {
    const fault = socketFault(Object.assign(new Error('x'), code === undefined ? {} : { code }));
    t.same([fault.status, fault.reason, fault.type, fault.retryable], [status, reason, type, retryable]);
    t.equal((fault.cause as Error).message, 'x', 'the socket error is kept as the cause');
  });
}

t.test("Tollgate's own deadlines are timeouts that are never retried", async (t) => {
  for (const what of ['connect', 'headers', 'body'] as const) {
    const fault = upstreamTimeout(what);
    t.same([fault.status, fault.reason, fault.retryable], [504, 'timeout', false], what);
  }
});

t.test('faults made where they are seen', async (t) => {
  t.same([upstreamClosed().status, upstreamClosed().reason, upstreamClosed().retryable], [502, 'reset', true]);
  t.same([poolClosed().reason, poolClosed().retryable], ['reset', false]);
  t.same([invalidResponse('bad').status, invalidResponse('bad').type], [502, '/problems/upstream-error']);
  t.ok(invalidResponse('bad') instanceof UpstreamFault);
});

t.test('a fault passes through as it is; a thrown non-error (undefined, a string) is "other", not a crash', async (t) => {
  const fault = upstreamTimeout('headers');
  t.equal(socketFault(fault), fault);
  t.equal(socketFault(undefined).reason, 'other');
  t.equal(socketFault('boom').reason, 'other');
});
