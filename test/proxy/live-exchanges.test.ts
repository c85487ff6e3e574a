import t from 'tap';
import type { Identity } from '../../src/auth/authorize.js';
import { type TokenCache, UNKNOWN } from '../../src/auth/token-cache.js';
import type { LiveExchange } from '../../src/exchange/core.js';
import type { EndReason } from '../../src/exchange/endings.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { LiveExchanges } from '../../src/proxy/live-exchanges.js';

// The registry keeps a token's open exchanges in a list, each exchange knowing its place: leaving
// moves the last one into the gap. Whatever order they leave in, the ones still open are the ones
// a revocation ends, each once, and the count of open exchanges follows.

const token = { record: { id: 'tok1', hash: 'h', user: null, status: 'active', expiresAt: null } } as unknown as Identity;

function setup() {
  const metrics = { live: { http: 0, websocket: 0, grpc: 0 } } as unknown as Metrics;
  // The store no longer knows the token: a re-check ends everything open on it.
  const cache = { holds: () => true, resolve: async () => UNKNOWN } as unknown as TokenCache;
  const registry = new LiveExchanges({ cache, clock: { now: () => 0 }, metrics, endOnRevoke: true, recheckMs: 60_000 });
  t.teardown(() => registry.close());
  const ended: string[] = [];
  const exchange = (name: string): LiveExchange => {
    let done = false;
    const e = {
      method: 'GET',
      path: '/v1/repositories/r/query',
      rawHeaders: [],
      identity: { tokenId: 'tok1', right: 'query', repository: 'r' },
      token,
      liveProtocol: 'http' as const,
      liveSlot: -1,
      end(reason: EndReason) {
        if (done) return;
        done = true;
        ended.push(`${name} ${reason}`);
        registry.remove(e as unknown as LiveExchange);
      },
    };
    return e as unknown as LiveExchange;
  };
  return { registry, metrics, ended, exchange };
}

t.test('exchanges leave in any order; the rest are ended once each by a revocation', async (t) => {
  const { registry, metrics, ended, exchange } = setup();
  const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map(exchange) as [LiveExchange, LiveExchange, LiveExchange, LiveExchange, LiveExchange];
  for (const x of [a, b, c, d, e]) registry.add(x);
  registry.add(c); // added twice: counted once
  t.equal(metrics.live.http, 5);
  registry.remove(b); // from the middle: the last (e) takes its place
  registry.remove(b); // again: nothing
  registry.remove(e); // the one that moved
  registry.remove(a); // the first
  t.equal(metrics.live.http, 2);
  t.equal(b.liveSlot, -1, 'a removed exchange holds no place');
  registry.onInvalidation({ at: 0, type: 'tokens', ids: ['tok1'] });
  await new Promise((resolve) => setImmediate(resolve));
  t.same(ended.sort(), ['c revoked', 'd revoked'], 'only the ones still open are ended');
  t.equal(metrics.live.http, 0);
  // Back in after leaving: counted again.
  registry.add(b);
  t.equal(metrics.live.http, 1);
  registry.remove(b);
  t.equal(metrics.live.http, 0);
});
