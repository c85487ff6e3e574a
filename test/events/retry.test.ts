import { Writable } from 'node:stream';
import t from 'tap';
import { WebhookSender } from '../../src/events/sender.js';
import { webhookId } from '../../src/events/webhooks.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StoreUnavailableError } from '../../src/store/token-store.js';
import { FakeClock } from '../helpers/fakes.js';
import { waitFor } from '../helpers/wait-for.js';
import { newSecret, startReceiver } from '../helpers/webhook-receiver.js';

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

const retry = { initialMs: 5000, maxMs: 60_000, giveUpMs: 86_400_000 };

t.test('a receiver that fails three attempts then accepts gets the event, after growing waits', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver(secret, (_d, nth) => (nth < 3 ? 503 : 204));
  t.teardown(() => receiver.close());
  const store = new MemoryStore();
  const clock = new FakeClock(Date.now());
  const { logger, lines } = recordingLogger();
  const outcomes: string[] = [];
  const webhook = { url: `${receiver.url}?key=do-not-log`, secret, events: ['*'] };
  const sender = new WebhookSender({
    store,
    clock,
    logger,
    webhook,
    consumer: 'me',
    fetch,
    retry,
    timeoutMs: 10_000,
    leaseMs: 30_000,
    pollMs: 1000,
    observer: { attempted: (o) => outcomes.push(o) },
  });
  await store.openQueue(sender.id);
  await store.putUser({ name: 'alice', grants: {}, createdAt: 1, updatedAt: 1 }, [
    { id: 'msg_one', type: 'user.created', at: clock.now(), data: { name: 'alice' } },
  ]);

  const waits: number[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    t.equal((await sender.step()).kind, 'event', `attempt ${attempt} is made`);
    const next = await sender.step();
    t.equal(next.kind, 'wait', 'then the sender waits');
    const until = next.kind === 'wait' ? next.until : 0;
    waits.push(until - clock.now());
    clock.advance(until - clock.now() - 1);
    t.equal((await sender.step()).kind, 'wait', 'not a millisecond early');
    clock.advance(1);
  }
  t.same(waits, [5000, 10_000, 20_000], 'the back-off doubles');
  t.equal((await sender.step()).kind, 'event');
  t.same(await sender.step(), { kind: 'idle' });
  t.equal(receiver.deliveries.length, 4);
  t.equal(receiver.unverified, 0, 'standardwebhooks verified every attempt');
  t.same(new Set(receiver.deliveries.map((d) => d.id)), new Set(['msg_one']), 'one webhook-id across retries');
  t.same(receiver.deliveries[3]!.body, { type: 'user.created', timestamp: new Date(clock.ms - 35_000).toISOString(), data: { name: 'alice' } });
  t.same(outcomes, ['retried', 'retried', 'retried', 'delivered']);
  const [event] = await store.recentEvents(1, [sender.id]);
  t.match(event!.deliveries.get(sender.id), { state: 'delivered', attempts: 4, lastStatus: 204 });
  t.equal(lines.filter((line) => line.includes('will retry')).length, 3);
  t.notOk(
    lines.some((line) => line.includes('do-not-log') || line.includes(secret.slice(6))),
    'no URL query and no secret in a log line',
  );
});

t.test('an event still failing after 24 h is given up, and the next one goes', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver(secret, (d) => (d.body.type === 'user.created' ? 500 : 200), 0, false);
  t.teardown(() => receiver.close());
  const store = new MemoryStore();
  const clock = new FakeClock(Date.now());
  const outcomes: string[] = [];
  const sender = new WebhookSender({
    store,
    clock,
    logger: createLogger('silent'),
    webhook: { url: receiver.url, secret, events: ['user.created', 'user.deleted'] },
    consumer: 'me',
    fetch,
    retry: { initialMs: 1000, maxMs: 3_600_000, giveUpMs: 86_400_000 },
    timeoutMs: 10_000,
    leaseMs: 30_000,
    pollMs: 1000,
    observer: { attempted: (o) => outcomes.push(o) },
  });
  await store.openQueue(webhookId(receiver.url));
  await store.putUser({ name: 'bob', grants: {}, createdAt: 1, updatedAt: 1 }, [{ id: 'msg_a', type: 'user.created', at: clock.now(), data: {} }]);
  await store.putUser({ name: 'bob', grants: {}, createdAt: 1, updatedAt: 2 }, [{ id: 'msg_skip', type: 'user.edited', at: clock.now(), data: {} }]);
  await store.deleteUser('bob', [{ id: 'msg_b', type: 'user.deleted', at: clock.now(), data: {} }]);
  for (let i = 0; i < 200; i++) {
    const taken = await sender.step();
    if (taken.kind === 'idle') break;
    if (taken.kind === 'wait') clock.advance(taken.until - clock.now());
  }
  t.equal(outcomes.at(-2), 'failed', 'given up');
  t.equal(outcomes.at(-1), 'delivered');
  t.ok(
    outcomes.filter((o) => o === 'retried').length >= 5 && outcomes.filter((o) => o === 'retried').length < 40,
    'retried with growing waits, not in a tight loop',
  );
  const recent = await store.recentEvents(5, [sender.id]);
  t.match(recent.find((e) => e.id === 'msg_a')!.deliveries.get(sender.id), { state: 'failed', lastStatus: 500, lastError: 'HTTP 500' });
  t.equal(recent.find((e) => e.id === 'msg_skip')!.deliveries.size, 0, 'a type the webhook did not name is not sent');
  t.same(receiver.accepted.size, 1);
});

t.test('a receiver that never answers: the attempt ends at the timeout and is retried', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver(secret, () => 'hang');
  t.teardown(() => receiver.close());
  const store = new MemoryStore();
  const clock = new FakeClock(Date.now());
  const sender = new WebhookSender({
    store,
    clock,
    logger: createLogger('silent'),
    webhook: { url: receiver.url, secret, events: ['*'] },
    consumer: 'me',
    fetch,
    retry,
    timeoutMs: 200,
    leaseMs: 30_000,
    pollMs: 1000,
  });
  await store.openQueue(sender.id);
  await store.putUser({ name: 'bob', grants: {}, createdAt: 1, updatedAt: 1 }, [{ id: 'msg_a', type: 'user.created', at: clock.now(), data: {} }]);
  await sender.step();
  const [event] = await store.recentEvents(1, [sender.id]);
  t.match(event!.deliveries.get(sender.id), { state: 'waiting', lastStatus: null, lastError: 'no answer within 200 ms' });
});

t.test('a store outage is said once in the log, and sending goes on after it', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver(secret);
  t.teardown(() => receiver.close());
  let failures = 5;
  class FlakyStore extends MemoryStore {
    override async take(...args: Parameters<MemoryStore['take']>) {
      if (failures-- > 0) throw new StoreUnavailableError('take');
      return super.take(...args);
    }
  }
  const store = new FlakyStore();
  const { logger, lines } = recordingLogger();
  const sender = new WebhookSender({
    store,
    clock: { now: () => Date.now() },
    logger,
    webhook: { url: receiver.url, secret, events: ['*'] },
    consumer: 'me',
    fetch,
    retry,
    timeoutMs: 1000,
    leaseMs: 5000,
    pollMs: 10,
  });
  await store.openQueue(sender.id);
  await store.putUser({ name: 'bob', grants: {}, createdAt: 1, updatedAt: 1 }, [{ id: 'msg_a', type: 'user.created', at: Date.now(), data: {} }]);
  sender.start();
  t.teardown(() => sender.stop());
  // The sender logs that it reaches the store again once its first step after the outage has
  // returned, which is after the receiver has the delivery: wait for both.
  await waitFor(() => receiver.accepted.size === 1 && lines.some((line) => line.includes('reaches the store again')), {
    what: 'the delivery after the outage, and the line saying the store is back',
  });
  t.equal(lines.filter((line) => line.includes('cannot reach the store')).length, 1);
  t.equal(lines.filter((line) => line.includes('reaches the store again')).length, 1);
});
