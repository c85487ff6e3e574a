import t from 'tap';
import { ChannelWatch, SILENT_INTERVALS } from '../../src/store/redis/channel-watch.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { Invalidation } from '../../src/store/token-store.js';
import { FakeClock } from '../helpers/fakes.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

t.test('the watch calls a silence once per three quiet intervals, and hearing anything resets it', async (t) => {
  const clock = new FakeClock(1000);
  const silences: number[] = [];
  let beats = 0;
  const watch = new ChannelWatch({ intervalMs: 100, now: () => clock.now(), beat: async () => beats++, onSilent: (ms) => silences.push(ms) });
  for (let i = 0; i < SILENT_INTERVALS - 1; i++) {
    clock.advance(100);
    watch.tick();
  }
  t.same(silences, [], 'two quiet intervals are not yet silence');
  clock.advance(100);
  watch.tick();
  t.same(silences, [300]);
  clock.advance(100);
  watch.heard();
  clock.advance(250);
  watch.tick();
  t.same(silences, [300], 'heard 250 ms ago: fine');
  t.equal(beats, 4, 'a heartbeat every interval');
});

t.test('a subscriber made deaf without disconnecting is noticed: cache reset, subscription renewed, revocations arrive again', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const silent: number[] = [];
  const replica = new RedisStore({ url: redis.url, keyPrefix: 'watch:', commandTimeoutMs: 500, heartbeatMs: 100, onChannelSilent: (ms) => silent.push(ms) });
  const writer = new RedisStore({ url: redis.url, keyPrefix: 'watch:', commandTimeoutMs: 500 });
  t.teardown(async () => {
    await replica.close();
    await writer.close();
  });
  await replica.waitUntilReady(5000);
  await writer.waitUntilReady(5000);
  const seen: Invalidation[] = [];
  let resets = 0;
  replica.subscribe({ onMessage: (m) => seen.push(m), onReset: () => resets++ });
  const message = (n: number): Invalidation => ({ at: n, type: 'tokens', ids: [`id${n}`] });
  await waitFor(
    async () => {
      await writer.publish(message(1));
      return seen.length > 0;
    },
    { what: 'the subscription to be live', everyMs: 20 },
  );

  // Deaf: the subscriber's connection stays up, but Redis no longer sends it anything.
  const subscriber = (replica as unknown as { invalidations: { subscriber: { unsubscribe(): Promise<unknown> } } }).invalidations.subscriber;
  await subscriber.unsubscribe();
  const before = seen.length;
  await writer.publish(message(2));
  await waitFor(() => silent.length > 0, { what: 'the watch to notice the silence', timeoutMs: 3000, everyMs: 20 });
  t.ok(resets >= 1, 'the listener was told messages may have been missed (its cache is cleared)');
  t.ok(silent[0]! >= 300, `silent for ${silent[0]} ms`);
  t.notOk(
    seen.slice(before).some((m) => m.at === 2),
    'the message sent while deaf was indeed lost',
  );
  await waitFor(
    async () => {
      await writer.publish(message(3));
      return seen.some((m) => m.at === 3);
    },
    {
      what: 'invalidations to arrive again on the renewed subscription',
      timeoutMs: 3000,
      everyMs: 50,
    },
  );
  t.pass('revocations arrive again');
  t.notOk(
    seen.some((m) => (m as { type: string }).type === 'heartbeat'),
    'heartbeats never reach the listener',
  );
});
