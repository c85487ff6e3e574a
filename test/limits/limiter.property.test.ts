import fc from 'fast-check';
import t from 'tap';
import { sliceOf } from '../../src/limits/lease.js';
import { Limiter } from '../../src/limits/limiter.js';
import type { Limits } from '../../src/limits/limits.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { type BudgetKey, type BudgetTake, StoreUnavailableError } from '../../src/store/token-store.js';
import { FakeClock } from '../helpers/fakes.js';

/** One store shared by every replica, that can be switched down. */
class SharedStore extends MemoryStore {
  isDown = false;
  override async takeBudget(key: BudgetKey, take: BudgetTake) {
    if (this.isDown) throw new StoreUnavailableError('takeBudget');
    return super.takeBudget(key, take);
  }
  override async returnBudget(key: BudgetKey, amount: number, now: number) {
    if (this.isDown) throw new StoreUnavailableError('returnBudget');
    return super.returnBudget(key, amount, now);
  }
}

const TOKEN = 'aaaaaaaaaaaaaaaa';
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

type Step =
  | { op: 'request'; replica: number }
  | { op: 'bytes'; replica: number; bytes: number }
  | { op: 'advance'; ms: number }
  | { op: 'down' }
  | { op: 'up' };

const step = (replicas: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.record({ op: fc.constant('request' as const), replica: fc.integer({ min: 0, max: replicas - 1 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('bytes' as const),
        replica: fc.integer({ min: 0, max: replicas - 1 }),
        bytes: fc.integer({ min: 1, max: 400_000 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 700 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'down' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'up' as const }) },
  );

t.test(
  'across N replicas, what is allowed in a window never exceeds the limit plus one lease per replica, and nothing new once the store is down and leases are spent',
  async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1_000_000, max: 4_000_000 }),
        fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(fc.constant(n), fc.array(step(4), { maxLength: 120 }))),
        async (replicas, requests, bytes, [, steps]) => {
          const clock = new FakeClock(1_750_000_000_000);
          const store = new SharedStore();
          const limits: Limits = { rate: { requests, per: '1s' }, quota: { bytes, per: '1h' } };
          const limiters = Array.from({ length: replicas }, () => new Limiter({ store, clock, logger: createLogger('silent') }));
          const rateSlice = sliceOf('rate', requests);
          const quotaSlice = sliceOf('quota', bytes);
          // Allowed per fixed window (the store's own windows: a sliding window is tighter).
          const allowedIn = new Map<number, number>();
          const bytesIn = new Map<number, number>();
          // While the store is down: what each replica held when it went down, and what it allowed since.
          // `next`: the next window's lease, taken near the end of this one (the store counted it then).
          let downSince: { requests: number[]; bytes: number[]; window: number; next: Array<{ window: number; requests: number }> } | undefined;
          const allowedSinceDown = {
            requests: Array<number>(replicas).fill(0),
            nextRequests: Array<number>(replicas).fill(0),
            bytes: Array<number>(replicas).fill(0),
          };

          for (const s of steps) {
            if (s.op === 'advance') {
              clock.advance(s.ms);
              continue;
            }
            if (s.op === 'down' || s.op === 'up') {
              await flush(); // leases on their way land first
              store.isDown = s.op === 'down';
              if (s.op === 'down') {
                downSince = {
                  requests: limiters.map((limiter) => Math.max(0, limiter.budgetFor(TOKEN, limits).rate!.balance)),
                  bytes: limiters.map((limiter) => Math.max(0, limiter.budgetFor(TOKEN, limits).quota!.balance)),
                  window: clock.now() - (clock.now() % 1000),
                  next: limiters.map((limiter) => {
                    const rate = limiter.budgetFor(TOKEN, limits).rate!;
                    return { window: rate.nextWindow, requests: Math.max(0, rate.nextBalance) };
                  }),
                };
                allowedSinceDown.requests.fill(0);
                allowedSinceDown.nextRequests.fill(0);
                allowedSinceDown.bytes.fill(0);
              } else {
                downSince = undefined;
              }
              continue;
            }
            const replica = s.replica % replicas;
            const limiter = limiters[replica]!;
            if (s.op === 'request') {
              const result = await limiter.admit(TOKEN, limits, clock.now());
              if (typeof result === 'string') continue;
              result.streamEnded();
              const window = clock.now() - (clock.now() % 1000);
              allowedIn.set(window, (allowedIn.get(window) ?? 0) + 1);
              if (downSince !== undefined) {
                if (window === downSince.window) {
                  allowedSinceDown.requests[replica]!++;
                  if (allowedSinceDown.requests[replica]! > downSince.requests[replica]!) return false;
                } else if (window === downSince.next[replica]!.window) {
                  // The next window's lease, taken before the outage: as much as it held, no more.
                  allowedSinceDown.nextRequests[replica]!++;
                  if (allowedSinceDown.nextRequests[replica]! > downSince.next[replica]!.requests) return false;
                } else {
                  return false; // a lease never outlives its window: after those two, nothing
                }
              }
              if (allowedIn.get(window)! > requests + replicas * rateSlice) return false;
            } else {
              const budget = limiter.budgetFor(TOKEN, limits);
              // Bytes flow only in an admitted exchange: take one if the quota still lets one start.
              if (budget.quota!.window !== clock.now() - (clock.now() % 3_600_000)) continue;
              if (!budget.spendBytes(s.bytes, clock.now())) continue;
              const window = budget.quota!.window;
              bytesIn.set(window, (bytesIn.get(window) ?? 0) + s.bytes);
              if (downSince !== undefined) {
                allowedSinceDown.bytes[replica]! += s.bytes;
                // What was leased, plus at most one lease of credit taken before the failure was known.
                if (allowedSinceDown.bytes[replica]! > downSince.bytes[replica]! + quotaSlice) return false;
              }
              if (bytesIn.get(window)! > bytes + replicas * quotaSlice) return false;
            }
            await flush();
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
    t.pass('no sequence broke the bound');
  },
);

t.test('a rate limit refuses with the time to wait and the RateLimit fields', async (t) => {
  const clock = new FakeClock(1_750_000_000_000);
  const limiter = new Limiter({ store: new MemoryStore(), clock, logger: createLogger('silent') });
  const limits: Limits = { rate: { requests: 3, per: '1s' } };
  const outcomes: string[] = [];
  for (let i = 0; i < 4; i++) {
    const result = await limiter.admit(TOKEN, limits, clock.now());
    outcomes.push(typeof result === 'string' ? result : 'allowed');
  }
  t.same(outcomes, ['allowed', 'allowed', 'allowed', 'rate_limited']);
  const headers = limiter.refusalHeaders(TOKEN, 'rate_limited', clock.now());
  t.equal(headers['retry-after'], '1');
  t.equal(headers['ratelimit-policy'], '"rate";q=3;w=1');
  t.match(headers.ratelimit, /^"rate";r=0;t=1$/);
});

t.test('a cached token with leased budget is admitted without a promise (no store round trip)', async (t) => {
  const clock = new FakeClock(1_750_000_000_000);
  let takes = 0;
  const store = new (class extends MemoryStore {
    override takeBudget(key: BudgetKey, take: BudgetTake) {
      takes++;
      return super.takeBudget(key, take);
    }
  })();
  const limiter = new Limiter({ store, clock, logger: createLogger('silent') });
  const limits: Limits = { rate: { requests: 1000, per: '1s' } };
  t.ok((await limiter.admit(TOKEN, limits, clock.now())) instanceof Object, 'the first request waits for a lease');
  let synchronous = 0;
  for (let i = 0; i < 40; i++) if (!(limiter.admit(TOKEN, limits, clock.now()) instanceof Promise)) synchronous++;
  t.equal(synchronous, 40);
  t.equal(takes, 1, 'one lease of a tenth of the limit served them all');
});

t.test('stream slots: the third is refused, and a slot freed is reused at once', async (t) => {
  const clock = new FakeClock(1_750_000_000_000);
  const limiter = new Limiter({ store: new MemoryStore(), clock, logger: createLogger('silent') });
  const limits: Limits = { streams: 2 };
  const first = await limiter.admit(TOKEN, limits, clock.now());
  const second = await limiter.admit(TOKEN, limits, clock.now());
  t.equal(await limiter.admit(TOKEN, limits, clock.now()), 'too_many_streams');
  if (typeof first === 'string') throw new Error('first refused');
  t.type(second, 'object');
  first.streamEnded();
  t.type(limiter.admit(TOKEN, limits, clock.now()), 'object', 'allowed again, without asking the store');
});

t.test('at drain, unspent leases and held slots go back to the store', async (t) => {
  const clock = new FakeClock(1_750_000_000_000);
  const store = new MemoryStore();
  const limiter = new Limiter({ store, clock, logger: createLogger('silent') });
  const limits: Limits = { rate: { requests: 100, per: '1h' }, streams: 3 };
  const budget = await limiter.admit(TOKEN, limits, clock.now());
  if (typeof budget === 'string') throw new Error('refused');
  budget.streamEnded();
  const window = clock.now() - (clock.now() % 3_600_000);
  const keys: BudgetKey[] = [
    { tokenId: TOKEN, limit: 'rate', window },
    { tokenId: TOKEN, limit: 'streams', window: 0 },
  ];
  t.same(await store.readBudgets(keys, clock.now()), [10, 1], 'a lease of 10 requests and one slot taken');
  await limiter.drain();
  t.same(await store.readBudgets(keys, clock.now()), [1, 0], 'only the one request spent stays counted');
});

t.test('a token record read again (equal limits in a new object) keeps its budget and its lease', async (t) => {
  const clock = new FakeClock(1_750_000_000_000);
  const limiter = new Limiter({ store: new MemoryStore(), clock, logger: createLogger('silent') });
  const first = await limiter.admit(TOKEN, { rate: { requests: 100, per: '1s' } }, clock.now());
  const again = limiter.admit(TOKEN, { rate: { requests: 100, per: '1s' } }, clock.now());
  t.equal(again, first, 'the same budget, admitted without waiting for a new lease');
  const changed = await limiter.admit(TOKEN, { rate: { requests: 5, per: '1s' } }, clock.now());
  t.not(changed, first, 'new limits build a new budget');
});

t.test('near the end of a window the next window is leased ahead, so its first request does not wait', async (t) => {
  const clock = new FakeClock(1_750_000_000_000); // a window start (a multiple of 1 s)
  const limiter = new Limiter({ store: new MemoryStore(), clock, logger: createLogger('silent') });
  const limits: Limits = { rate: { requests: 100, per: '1s' } };
  await limiter.admit(TOKEN, limits, clock.now());
  clock.advance(900); // the last fifth of the window
  t.type(limiter.admit(TOKEN, limits, clock.now()), 'object');
  await flush();
  clock.advance(200); // the next window
  const first = limiter.admit(TOKEN, limits, clock.now());
  t.notOk(first instanceof Promise, 'admitted from the lease taken ahead');
  t.type(first, 'object');
});
