import t from 'tap';
import { LastUsedRecorder } from '../../src/auth/last-used.js';
import { CountingStore, FakeClock } from '../helpers/fakes.js';
import { entry, makeToken } from '../helpers/records.js';

t.test('many uses within the interval make one write per flush', async (t) => {
  const store = new CountingStore();
  const clock = new FakeClock();
  const { record } = makeToken();
  await store.createToken(record, entry('created'));
  const recorder = new LastUsedRecorder(store, clock, 60_000);
  for (let i = 0; i < 10_000; i++) recorder.record(record.id, clock.now() + i);
  await recorder.flush();
  t.equal(store.touchCalls, 1);
  t.equal((await store.getToken(record.id))?.lastUsedAt, clock.now(), 'the first use in the interval is written');
  await recorder.flush();
  t.equal(store.touchCalls, 1, 'nothing pending, nothing written');
});

t.test('a use after the interval is written again', async (t) => {
  const store = new CountingStore();
  const clock = new FakeClock();
  const { record } = makeToken();
  await store.createToken(record, entry('created'));
  const recorder = new LastUsedRecorder(store, clock, 60_000);
  recorder.record(record.id, clock.now());
  await recorder.flush();
  clock.advance(30_000);
  recorder.record(record.id, clock.now());
  await recorder.flush();
  t.equal(store.touchCalls, 1, 'within the interval: no second write');
  clock.advance(30_000);
  recorder.record(record.id, clock.now());
  await recorder.flush();
  t.equal(store.touchCalls, 2);
  t.equal((await store.getToken(record.id))?.lastUsedAt, clock.now());
});

t.test('a failed write stays pending and is retried', async (t) => {
  const store = new CountingStore();
  const clock = new FakeClock();
  const { record } = makeToken();
  await store.createToken(record, entry('created'));
  const errors: unknown[] = [];
  const recorder = new LastUsedRecorder(store, clock, 60_000, (err) => errors.push(err));
  recorder.record(record.id, clock.now());
  store.isDown = true;
  await recorder.flush();
  t.equal(errors.length, 1);
  store.isDown = false;
  await recorder.stop();
  t.equal((await store.getToken(record.id))?.lastUsedAt, clock.now());
});
