import { Writable } from 'node:stream';
import fc from 'fast-check';
import t from 'tap';
import type { Outcome } from '../../src/auth/decision.js';
import { refusal } from '../../src/auth/verdict.js';
import { type EndKind, ExchangeCore, type LiveExchange, type LiveRegistry } from '../../src/exchange/core.js';
import type { EndReason } from '../../src/exchange/endings.js';
import { DecisionLedger, ProxyLedger } from '../../src/exchange/ledgers.js';
import type { TokenBudget } from '../../src/limits/token-budget.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';

// The exchange core's promise: however an exchange ends, and however many of its ways of ending
// arrive (a client reset after an upstream failure, a revocation after the response ended, a
// quota running out on the last chunk), its stream slot goes back once, it leaves the registry
// of open exchanges once, it is counted once and logged at most once. Driven here through a
// recording responder (the protocol layer's place) over the real ledgers, metrics and logger.

/** A responder that only says how the exchange ended, as Exchange and StreamExchange do. */
class RecordingResponder extends ExchangeCore {
  readonly method = 'GET';
  readonly url = '/v1/repositories/sensors/data';
  readonly rawHeaders: string[] = [];
  readonly liveProtocol = 'http' as const;
  readonly logProtocol = undefined;
  readonly tracedProtocol = 'http/1.1' as const;
  readonly finishes: boolean[] = [];

  end(reason: EndReason): void {
    if (this.isDone) return;
    this.ledger.exchangeCut(reason);
    this.finishes.push(this.finish('forwarded', 'forbidden', reason === 'quota' ? 429 : 403));
  }

  ended(kind: EndKind, outcome: Outcome, status: number): void {
    this.finishes.push(this.finish(kind, outcome, status));
  }
}

/** The registry of open exchanges, recording what it is told. */
class RecordingRegistry implements LiveRegistry {
  readonly open = new Set<LiveExchange>();
  adds = 0;
  removes = 0;
  add(exchange: LiveExchange): void {
    this.adds++;
    this.open.add(exchange);
  }
  remove(exchange: LiveExchange): void {
    this.removes++;
    this.open.delete(exchange);
  }
}

/** A token budget's side the exchange uses: bytes spent, the slot given back. */
function budget(quotaBytes: number) {
  let spent = 0;
  const slot = { released: 0 };
  const limited = {
    policy: '"quota";q=100;w=3600',
    spendBytes(bytes: number): boolean {
      spent += bytes;
      return spent <= quotaBytes;
    },
    streamEnded(): void {
      slot.released++;
    },
  };
  return { limited: limited as unknown as TokenBudget, slot };
}

const cut = fc.record({ kind: fc.constant('end' as const), reason: fc.constantFrom<EndReason>('revoked', 'expired', 'rights', 'quota', 'config') });
const finished = fc.record({
  kind: fc.constant('finish' as const),
  how: fc.constantFrom<EndKind>('forwarded', 'abandoned'),
  outcome: fc.constantFrom<Outcome>('allowed', 'upstream_error', 'forbidden', 'not_found'),
  status: fc.constantFrom(200, 400, 403, 499, 502, 504),
});
const spent = fc.record({ kind: fc.constant('spend' as const), bytes: fc.integer({ min: 0, max: 80 }) });
const event = fc.oneof(cut, finished, spent);

const scenario = fc.record({
  allowed: fc.boolean(),
  limitedQuota: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
  refusedAtOnce: fc.boolean(),
  // Any events, then at least one that ends the exchange (the protocol layer always has one: a close).
  events: fc.tuple(fc.array(event, { maxLength: 8 }), fc.oneof(cut, finished)).map(([some, last]) => [...some, last]),
});

async function metricValue(metrics: Metrics, name: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString(name);
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith(`${name}_`)) total += Number(line.split(' ').pop());
  return total;
}

function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', sink), lines, sink };
}

const clock = { now: () => 1_700_000_000_000 };

t.test('the proxy ledger: every way of ending releases, unregisters, counts and logs exactly once', async (t) => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async ({ allowed, limitedQuota, refusedAtOnce, events }) => {
      runs++;
      const metrics = new Metrics({ cacheEntries: () => 0, isStoreUp: async () => true });
      const { logger, lines } = recordingLogger();
      const live = new RecordingRegistry();
      const ledger = new ProxyLedger({ metrics, logger, clock, accessLog: true }, live);
      const exchange = new RecordingResponder(ledger);
      exchange.begin(undefined);
      const limits = limitedQuota === undefined ? undefined : budget(limitedQuota);
      if (refusedAtOnce) {
        exchange.right = 'query';
        exchange.finish('refused', 'forbidden', 403, 'insufficient_scope');
      } else if (allowed) {
        exchange.allowed({
          allowed: true,
          right: 'query',
          path: exchange.url,
          identity: { tokenId: 'tok_1', repository: 'sensors', user: null, right: 'query' },
          token: undefined,
          limited: limits?.limited,
        });
      }
      for (const event of events) {
        if (event.kind === 'end') exchange.end(event.reason);
        else if (event.kind === 'finish') exchange.ended(event.how, event.outcome, event.status);
        else if (!exchange.isDone && !exchange.spend(event.bytes)) exchange.end('quota');
      }
      // Something always ends it; whatever came after found it ended.
      if (!exchange.isDone) throw new Error('an exchange given an ending is not done');
      if (exchange.finishes.filter(Boolean).length > (refusedAtOnce ? 0 : 1)) throw new Error(`finished ${exchange.finishes.filter(Boolean).length} times`);
      const held = allowed && !refusedAtOnce && limits !== undefined;
      if (limits !== undefined && limits.slot.released !== (held ? 1 : 0)) throw new Error(`slot released ${limits.slot.released} times (held: ${held})`);
      const joined = allowed && !refusedAtOnce;
      if (live.adds !== (joined ? 1 : 0) || live.removes !== live.adds || live.open.size !== 0)
        throw new Error(`registry: ${live.adds} adds, ${live.removes} removes, ${live.open.size} open`);
      // In flight once up, once down; one request counted unless it was abandoned, one line for each counted.
      if ((await metricValue(metrics, 'tollgate_inflight_requests')) !== 0) throw new Error('in-flight count not back to 0');
      const counted = await metricValue(metrics, 'tollgate_requests_total');
      if (counted > 1) throw new Error(`counted ${counted} times`);
      if (lines.length !== counted) throw new Error(`${lines.length} log lines for ${counted} counted requests`);
    }),
    { numRuns: 300 },
  );
  t.equal(runs, 300);
});

t.test('the decision ledger: one answer counted and logged once, naming the request asked about, never in flight', async (t) => {
  const metrics = new Metrics({ cacheEntries: () => 0, isStoreUp: async () => true });
  const { logger, lines } = recordingLogger();
  const ledger = new DecisionLedger({ metrics, logger, clock, accessLog: true });
  const exchange = new RecordingResponder(ledger);
  exchange.begin('req-1');
  exchange.asked = { method: 'POST', url: '/v1/repositories/sensors/data?access_token=secret' };
  const verdict = refusal('insufficient_scope', 'stream');
  exchange.right = verdict.right;
  t.equal(exchange.finish('refused', verdict.outcome, verdict.status, verdict.reason), true);
  t.equal(exchange.finish('answered', 'allowed', 200), false, 'a second ending does nothing');
  exchange.end('revoked');
  t.equal(await metricValue(metrics, 'tollgate_decision_requests_total'), 1);
  t.equal(await metricValue(metrics, 'tollgate_inflight_requests'), 0);
  t.equal(lines.length, 1);
  t.match(lines[0], { port: 'decision', requestId: 'req-1', method: 'POST', status: 403, right: 'stream', outcome: 'forbidden', reason: 'insufficient_scope' });
  t.notMatch(String(lines[0]!.path), /secret/, 'the query token is redacted');
});

t.test('hooks hear of the start, the upstream request and the end, once each, after the bookkeeping', async (t) => {
  const metrics = new Metrics({ cacheEntries: () => 0, isStoreUp: async () => true });
  const live = new RecordingRegistry();
  const ledger = new ProxyLedger({ metrics, logger: createLogger('silent'), clock, accessLog: false }, live);
  const heard: string[] = [];
  ledger.hooks = {
    started: (exchange) => heard.push(`started ${exchange.requestId}`),
    upstreamRequest: (_exchange, headers) => {
      heard.push('upstream');
      headers.push('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    },
    finished: (_exchange, kind, outcome, status) => heard.push(`finished ${kind} ${outcome} ${status} open=${live.open.size}`),
  };
  const exchange = new RecordingResponder(ledger);
  exchange.begin('req-2');
  exchange.allowed({ allowed: true, right: 'query', path: '/x', identity: undefined, token: undefined, limited: undefined });
  const headers = ['host', 'upstream'];
  exchange.upstreamRequest(headers);
  exchange.ended('forwarded', 'allowed', 200);
  exchange.ended('abandoned', 'upstream_error', 499);
  exchange.end('revoked');
  t.same(heard, ['started req-2', 'upstream', 'finished forwarded allowed 200 open=0']);
  t.same(headers.slice(2, 3), ['traceparent'], 'a field a hook adds goes upstream');
});
