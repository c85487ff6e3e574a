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

t.test('the address and User-Agent of the queued use are written with it, cut and with secrets redacted', async (t) => {
  const store = new CountingStore();
  const clock = new FakeClock();
  const { record, secret } = makeToken();
  await store.createToken(record, entry('created'));
  const recorder = new LastUsedRecorder(store, clock, 60_000);
  const agent = `curl/8.5 ${secret} ${'x'.repeat(400)}`;
  recorder.record(record.id, clock.now(), { remoteAddress: '10.1.2.3', userAgent: () => agent });
  recorder.record(record.id, clock.now() + 1, { remoteAddress: '10.9.9.9', userAgent: () => 'later' });
  await recorder.flush();
  const stored = (await store.getToken(record.id))!;
  t.equal(stored.lastUsedIp, '10.1.2.3', 'the use that was queued, not one inside the interval');
  t.ok(stored.lastUsedUserAgent!.length <= 256);
  t.notMatch(stored.lastUsedUserAgent!, secret.slice(4, 20));
  t.match(stored.lastUsedUserAgent!, /^curl\/8\.5 /);
});
