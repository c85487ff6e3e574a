import t from 'tap';
import { MemoryStore } from '../../src/store/memory-store.js';
import { UsageNotWritten } from '../../src/store/token-store.js';
import type { UsageCount } from '../../src/store/usage-log.js';
import { UsageRecorder } from '../../src/usage/usage-recorder.js';
import { FakeClock } from '../helpers/fakes.js';

const HOUR = 3_600_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % HOUR);
const token = (id: string, repository = 'sensors') => ({ record: { id, repository } });

/** A memory store whose usage writes can be made to fail, whole or in part. */
class FlakyUsageStore extends MemoryStore {
  writes = 0;
  failure: 'none' | 'all' | 'first' = 'none';
  override async addUsage(counts: readonly UsageCount[], now: number): Promise<void> {
    this.writes++;
    if (this.failure === 'all') throw new Error('down');
    if (this.failure === 'first') {
      // The first token's counts were added, the rest were not (as a Redis token-day script may fail alone).
      await super.addUsage(counts.slice(0, 1), now);
      throw new UsageNotWritten(counts.slice(1), new Error('one node down'));
    }
    return super.addUsage(counts, now);
  }
}

t.test('requests are counted in memory and written once per flush, never per request', async (t) => {
  const store = new FlakyUsageStore();
  const clock = new FakeClock(T0 + 10);
  const recorder = new UsageRecorder(store, clock, 60_000);
  for (let i = 0; i < 1000; i++) recorder.allowed(token('a'), clock.now());
  recorder.refused(token('a'), 'rate_limited', clock.now());
  recorder.ended(token('a'), 10, 20);
  t.equal(store.writes, 0, 'nothing written before the flush');
  await recorder.flush();
  t.equal(store.writes, 1);
  t.same(await store.usageOf('a', T0, T0 + HOUR), [{ hour: T0, allowed: 1000, refused: { rate_limited: 1 }, bytesIn: 10, bytesOut: 20 }]);
  await recorder.flush();
  t.equal(store.writes, 1, 'an empty flush writes nothing');
});

t.test('an hour that ends is kept apart from the next one', async (t) => {
  const store = new FlakyUsageStore();
  const clock = new FakeClock(T0 + HOUR - 1);
  const recorder = new UsageRecorder(store, clock, 60_000);
  recorder.allowed(token('a'), clock.now());
  clock.advance(1);
  recorder.allowed(token('a'), clock.now());
  recorder.allowed(token('a'), clock.now());
  await recorder.flush();
  t.same(
    (await store.usageOf('a', T0, T0 + 2 * HOUR)).map((hour) => [hour.hour, hour.allowed]),
    [
      [T0, 1],
      [T0 + HOUR, 2],
    ],
  );
});

t.test('workload identities and requests with no token are not counted', async (t) => {
  const store = new FlakyUsageStore();
  const clock = new FakeClock(T0);
  const recorder = new UsageRecorder(store, clock, 60_000);
  recorder.allowed({ ...token('w'), workload: { issuer: 'https://issuer' } }, clock.now());
  recorder.refused({ ...token('w'), workload: { issuer: 'https://issuer' } }, 'insufficient_scope', clock.now());
  recorder.ended(undefined, 5, 5);
  await recorder.flush();
  t.equal(store.writes, 0);
});

t.test('a failed write is kept and added with the next one', async (t) => {
  const store = new FlakyUsageStore();
  const clock = new FakeClock(T0);
  const errors: unknown[] = [];
  const recorder = new UsageRecorder(store, clock, 60_000, (err) => errors.push(err));
  recorder.allowed(token('a'), clock.now());
  store.failure = 'all';
  await recorder.flush();
  t.equal(errors.length, 1, 'the failure is reported');
  recorder.allowed(token('a'), clock.now());
  clock.advance(HOUR);
  recorder.allowed(token('a'), clock.now());
  store.failure = 'none';
  await recorder.flush();
  t.same(
    (await store.usageOf('a', T0, T0 + 2 * HOUR)).map((hour) => [hour.hour, hour.allowed]),
    [
      [T0, 2],
      [T0 + HOUR, 1],
    ],
  );
});

t.test('a write that failed in part is retried only for what was not added', async (t) => {
  const store = new FlakyUsageStore();
  const clock = new FakeClock(T0);
  const recorder = new UsageRecorder(store, clock, 60_000);
  recorder.allowed(token('a'), clock.now());
  recorder.allowed(token('b'), clock.now());
  store.failure = 'first';
  await recorder.flush();
  store.failure = 'none';
  await recorder.flush();
  t.same(
    (await store.usageOf('a', T0, T0 + HOUR)).map((hour) => hour.allowed),
    [1],
    'the part written is not written again',
  );
  t.same(
    (await store.usageOf('b', T0, T0 + HOUR)).map((hour) => hour.allowed),
    [1],
    'the part not written is written once',
  );
});

t.test('stop writes what is pending; flushes asked at once run one after another', async (t) => {
  const store = new FlakyUsageStore();
  const clock = new FakeClock(T0);
  const recorder = new UsageRecorder(store, clock, 60_000);
  recorder.start();
  recorder.setInterval(30_000);
  recorder.allowed(token('a'), clock.now());
  const first = recorder.flush();
  recorder.allowed(token('a'), clock.now());
  await Promise.all([first, recorder.stop()]);
  t.same(
    (await store.usageOf('a', T0, T0 + HOUR)).map((hour) => hour.allowed),
    [2],
  );
  t.equal(store.writes, 1, 'the second flush found nothing left: one write, nothing twice');
});

t.test('a clock that steps back and forth across an hour keeps one count per hour', async (t) => {
  const store = new FlakyUsageStore();
  const clock = new FakeClock(T0 + HOUR);
  const recorder = new UsageRecorder(store, clock, 60_000);
  for (let i = 0; i < 1000; i++) {
    recorder.allowed(token('a'), T0 + HOUR - 1 + (i % 2)); // alternately the last ms of one hour and the first of the next
    recorder.ended(token('a'), 1, 0);
  }
  await recorder.flush();
  t.equal(store.writes, 1);
  t.same(
    (await store.usageOf('a', T0, T0 + 2 * HOUR)).map((hour) => [hour.hour, hour.allowed, hour.bytesIn]),
    [
      [T0, 500, 0],
      [T0 + HOUR, 500, 1000],
    ],
  );
});
