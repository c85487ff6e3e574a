import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { OutEvent } from '../../src/store/event-log.js';
import { FileStore } from '../../src/store/file-store.js';
import { entry, makeToken } from '../helpers/records.js';

const event = (id: string, type: string): OutEvent => ({ id, type, at: Date.now(), data: { n: id } });

t.test('the event is in the same journal line as its change', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  const store = await FileStore.open(path);
  t.teardown(() => store.close());
  const { record } = makeToken();
  await store.createToken(record, entry('created'), [event('msg_1', 'token.created')]);
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { op: string; events?: OutEvent[] });
  const line = lines.find((l) => l.op === 'token');
  t.equal(line?.events?.[0]?.id, 'msg_1');
});

t.test('the outbox survives a restart and its compaction: events, queue places, deliveries', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  let store = await FileStore.open(path);
  await store.openQueue('wh_a');
  await store.putUser({ name: 'u1', grants: {}, createdAt: 1, updatedAt: 1 }, [event('msg_1', 'user.created'), event('msg_2', 'user.edited')]);
  const first = await store.take('wh_a', 'me', ['*'], 100, 1000);
  t.equal(first.kind === 'event' && first.event.id, 'msg_1');
  await store.settle('wh_a', event('msg_1', 'user.created'), { ok: true, status: 200 }, 200);
  const second = await store.take('wh_a', 'me', ['*'], 300, 1000);
  t.equal(second.kind === 'event' && second.event.id, 'msg_2');
  await store.appendEventOnce('expired:x', event('msg_3', 'token.expired'), Date.now() + 60_000);
  await store.close();

  for (let round = 0; round < 2; round++) {
    // Twice: the first open replays the raw journal and compacts it, the second reads the compacted form.
    store = await FileStore.open(path);
    t.same(
      (await store.recentEvents(10, ['wh_a'])).map((e) => [e.id, e.deliveries.get('wh_a')?.state]),
      [
        ['msg_3', undefined],
        ['msg_2', 'sending'],
        ['msg_1', 'delivered'],
      ],
    );
    t.same(await store.take('wh_a', 'me', ['*'], 500, 1000), { kind: 'wait', until: 1300 }, 'the lease of msg_2 still holds');
    t.equal(await store.appendEventOnce('expired:x', event('msg_4', 'token.expired'), Date.now() + 60_000), false);
    await store.close();
  }
  store = await FileStore.open(path);
  t.teardown(() => store.close());
  const taken = await store.take('wh_a', 'other', ['*'], 1300, 1000);
  t.equal(taken.kind === 'event' && taken.event.id, 'msg_2', 'taken over after the lease');
  t.equal(taken.kind === 'event' && taken.delivery.attempts, 2);
  await store.settle('wh_a', event('msg_2', 'user.edited'), { ok: true, status: 200 }, 1400);
  const third = await store.take('wh_a', 'other', ['*'], 1400, 1000);
  t.equal(third.kind === 'event' && third.event.id, 'msg_3');
  await store.settle('wh_a', event('msg_3', 'token.expired'), { ok: true, status: 200 }, 1500);
  await store.putUser({ name: 'u2', grants: {}, createdAt: 1, updatedAt: 1 }, [event('msg_5', 'user.created')]);
  const fifth = await store.take('wh_a', 'other', ['*'], 1600, 1000);
  t.equal(fifth.kind === 'event' && fifth.event.id, 'msg_5', 'numbering goes on after a compaction');
});
