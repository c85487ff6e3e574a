import t from 'tap';
import { Limiter } from '../../src/limits/limiter.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FakeClock } from '../helpers/fakes.js';
import { makeToken } from '../helpers/records.js';

// A lent token's line shares its makers' budgets (docs/tokens.md, "Independent and lent tokens"): streams held and bytes
// spent by a lent token count against its maker too, and a refusal names the limit that refused.
// The line comes with the identity (the cache reads it on a miss); the limiter does no I/O for it.

function setup() {
  const clock = new FakeClock(1_750_000_000_000);
  const limiter = new Limiter({ store: new MemoryStore(), clock, logger: createLogger('silent') });
  return { clock, limiter };
}

t.test("a lent token's open streams hold its maker's slots", async (t) => {
  const { clock, limiter } = setup();
  const maker = makeToken({ limits: { streams: 1 } }).record;
  const lent = makeToken({ lent: true, parentId: maker.id }).record;
  const line = [{ id: maker.id, limits: maker.limits, repository: maker.repository }];
  const held = await limiter.admitTo(limiter.budgetOfLine({ record: lent, line })!, clock.now());
  if (typeof held === 'string') throw new Error(`refused: ${held}`);
  t.equal(await limiter.admitTo(limiter.budgetOfLine({ record: maker })!, clock.now()), 'too_many_streams', "the maker's one slot is the lent token's");
  held.streamEnded();
  t.type(limiter.admitTo(limiter.budgetOfLine({ record: maker })!, clock.now()), 'object', 'given back when its stream ends');
});

t.test("bytes a lent token relays are spent from its maker's quota, and a refusal shows the maker's policy", async (t) => {
  const { clock, limiter } = setup();
  const maker = makeToken({ limits: { quota: { bytes: 1000, per: '1h' } } }).record;
  const lent = makeToken({ lent: true, parentId: maker.id, limits: { rate: { requests: 100, per: '1s' } } }).record;
  const line = [{ id: maker.id, limits: maker.limits, repository: maker.repository }];
  const budget = limiter.budgetOfLine({ record: lent, line })!;
  const admitted = await limiter.admitTo(budget, clock.now());
  if (typeof admitted === 'string') throw new Error(`refused: ${admitted}`);
  t.equal(admitted.spendBytes(1000, clock.now()), true);
  await new Promise<void>((resolve) => setImmediate(resolve)); // the refill it started finds nothing left
  t.equal(admitted.spendBytes(1, clock.now()), false, "the maker's quota is spent");
  const refused = await limiter.admitTo(limiter.budgetOfLine({ record: lent, line })!, clock.now());
  t.equal(refused, 'quota_exceeded');
  const headers = limiter.refusalHeadersOf(budget, 'quota_exceeded', clock.now());
  t.equal(headers['ratelimit-policy'], '"quota";q=1000;qu="content-bytes";w=3600', 'the limit that refused is the one shown');
  t.equal(await limiter.admitTo(limiter.budgetOfLine({ record: maker })!, clock.now()), 'quota_exceeded', 'and the maker itself is out too');
});

t.test('a rolled token spends from the budget it carried over', async (t) => {
  const { clock, limiter } = setup();
  const limits = { rate: { requests: 2, per: '1h' } };
  const old = makeToken({ limits }).record;
  const rolled = makeToken({ limits, budgetId: old.id }).record;
  for (const record of [old, rolled]) t.type(await limiter.admitTo(limiter.budgetOfLine({ record })!, clock.now()), 'object');
  t.equal(await limiter.admitTo(limiter.budgetOfLine({ record: rolled })!, clock.now()), 'rate_limited', 'two in all, not two each');
  t.equal(limiter.budgetOfLine({ record: old }), limiter.budgetOfLine({ record: rolled }), 'one budget object on a replica');
});
