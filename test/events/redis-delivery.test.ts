import t from 'tap';
import { request } from 'undici';
import { ExpirySweep } from '../../src/events/expiry-sweep.js';
import { createLogger } from '../../src/log/logger.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { call } from '../helpers/admin-client.js';
import { runCli } from '../helpers/cli.js';
import { FakeClock } from '../helpers/fakes.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { freePort } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { newSecret, startReceiver } from '../helpers/webhook-receiver.js';

// Delivery through Redis: a real redis-server, real HTTP receivers, Tollgate replicas in this
// process (and, for the kill, as child processes).

const redis = await startRedis();
t.teardown(() => redis.stop());
let prefixes = 0;

/** The clock the senders wait by must move: the harness's default clock is fixed. */
class RealClock extends FakeClock {
  override now(): number {
    return Date.now();
  }
}

const fastEvents = (url: string, secret: string) => ({
  webhooks: [{ url, secret, events: ['*'] }],
  poll: '20ms',
  timeout: '1s',
  claimAfter: '5s',
  backoff: { initial: '50ms', max: '250ms' },
});

t.test('a receiver down while 1,000 tokens are made gets each once, in order per token, when it comes up', async (t) => {
  const secret = newSecret();
  const port = await freePort(); // nothing listens here yet: the receiver is down
  const url = `http://127.0.0.1:${port}/hooks`;
  const store = new RedisStore({ url: redis.url, keyPrefix: `d${prefixes++}:`, commandTimeoutMs: 2000 });
  await store.waitUntilReady(5000);
  const h = await startHarness({ store, clock: new RealClock(), config: { store: { backend: 'redis' }, events: fastEvents(url, secret) } });
  t.teardown(() => h.close());
  const made: string[] = [];
  for (let i = 0; i < 1000; i++) made.push((await h.token(['query'], 'sensors', { name: `t${i}` })).token.id);
  const revoked = made.slice(0, 50);
  for (const id of revoked) t.equal((await call(h, 'POST', `/v1/tokens/${id}/revoke`, h.adminSecret)).status, 200);
  t.ok((await h.tollgate.outbox.backlog()) >= 1000, 'the events wait in the store');
  // Read between attempts (it is retried every 50-250 ms): one under way shows `sending`, which a
  // loaded machine caught once.
  let firstDelivery: unknown;
  await waitFor(
    async () => {
      firstDelivery = (await store.recentEvents(1051, [h.tollgate.outbox.senders[0]!.id])).at(-1)?.deliveries.values().next().value;
      return (firstDelivery as { state?: string } | undefined)?.state !== 'sending';
    },
    { what: 'the first event between attempts' },
  );
  t.match(firstDelivery, { state: 'waiting', lastError: 'ECONNREFUSED' }, 'the first event was tried and is backing off');

  const receiver = await startReceiver(secret, () => 204, port);
  t.teardown(() => receiver.close());
  await waitFor(() => receiver.accepted.size >= 1051, { what: 'every event', timeoutMs: 45_000 });
  await waitFor(async () => (await h.tollgate.outbox.backlog()) === 0, { what: 'an empty backlog' });
  t.equal(receiver.unverified, 0, 'standardwebhooks verified every delivery');
  const ours = new Set(made);
  const created = [...receiver.accepted.values()].filter((d) => d.body.type === 'token.created' && ours.has(d.body.data.id));
  t.same(new Set(created.map((d) => d.body.data.id)), ours, 'every token made has its token.created');
  t.equal(created.length, 1000, 'each once (counted by webhook-id)');
  t.equal(receiver.deliveries.filter((d) => d.status === 204).length, 1051, 'and no event was sent twice');
  const order = receiver.deliveries.filter((d) => d.status === 204).map((d) => `${d.body.type}:${d.body.data.id}`);
  for (const id of revoked) t.ok(order.indexOf(`token.created:${id}`) < order.indexOf(`token.revoked:${id}`), `created before revoked (${id})`);
  t.notOk(
    receiver.deliveries.some((d) => /tg[rp]_[A-Za-z0-9]{49}/.test(d.raw)),
    'no secret in any body',
  );
});

t.test('two replicas send one at a time, each event once, and GET /v1/events shows where each stands', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver(secret);
  t.teardown(() => receiver.close());
  const keyPrefix = `r${prefixes++}:`;
  const replicas: Harness[] = [];
  for (let i = 0; i < 2; i++) {
    const store = new RedisStore({ url: redis.url, keyPrefix, commandTimeoutMs: 2000 });
    await store.waitUntilReady(5000);
    const h = await startHarness({ store, clock: new RealClock(), config: { store: { backend: 'redis' }, events: fastEvents(receiver.url, secret) } });
    t.teardown(() => h.close());
    replicas.push(h);
  }
  for (let i = 0; i < 100; i++) await replicas[i % 2]!.token(['query'], 'sensors', { name: `t${i}` });
  await waitFor(() => receiver.accepted.size >= 102, { what: 'every event', timeoutMs: 20_000 }); // and the two admin tokens
  await waitFor(async () => (await replicas[0]!.tollgate.outbox.backlog()) === 0, { what: 'an empty backlog' });
  t.equal(receiver.deliveries.length, receiver.accepted.size, 'no event went out twice');
  const res = await request(`${replicas[1]!.admin}/v1/events?limit=5`, { headers: { authorization: `Bearer ${replicas[1]!.adminSecret}` } });
  const page = (await res.body.json()) as { items: Array<{ type: string; deliveries: Array<{ state: string; attempts: number; webhook: string }> }> };
  t.equal(res.statusCode, 200);
  t.equal(page.items.length, 5);
  t.match(page.items[0], { type: 'token.created', deliveries: [{ state: 'delivered', attempts: 1, webhook: receiver.url }] });
});

t.test('a queue whose stream was dropped is made again', async (t) => {
  const store = new RedisStore({ url: redis.url, keyPrefix: `g${prefixes++}:`, commandTimeoutMs: 2000 });
  await store.waitUntilReady(5000);
  t.teardown(() => store.close());
  await store.openQueue('wh_x');
  await store.putUser({ name: 'u', grants: {}, createdAt: 1, updatedAt: 1 }, [{ id: 'msg_1', type: 'user.created', at: Date.now(), data: {} }]);
  const { Redis } = await import('ioredis');
  const raw = new Redis(redis.url);
  t.teardown(() => raw.disconnect());
  t.equal(await raw.del(`${(store as unknown as { redis: { keys: { eventStream: string } } }).redis.keys.eventStream}`), 1);
  t.same(await store.take('wh_x', 'me', ['*'], Date.now(), 1000), { kind: 'idle' });
  await store.putUser({ name: 'u', grants: {}, createdAt: 1, updatedAt: 2 }, [{ id: 'msg_2', type: 'user.edited', at: Date.now(), data: {} }]);
  const taken = await store.take('wh_x', 'me', ['*'], Date.now(), 1000);
  t.equal(taken.kind === 'event' && taken.event.id, 'msg_2');
  t.equal(await store.backlog('wh_x'), 1);
  t.equal(await store.backlog('wh_none'), 0);
});

t.test('token.expiring and token.expired go out once each, with two replicas sweeping', async (t) => {
  const keyPrefix = `s${prefixes++}:`;
  const clock = new FakeClock(Date.now());
  const stores: RedisStore[] = [];
  for (let i = 0; i < 2; i++) {
    const store = new RedisStore({ url: redis.url, keyPrefix, commandTimeoutMs: 2000 });
    await store.waitUntilReady(5000);
    t.teardown(() => store.close());
    stores.push(store);
  }
  const h = await startHarness({ store: stores[0]!, clock, config: { store: { backend: 'redis' }, events: { expiringNotice: '1d' } } });
  t.teardown(() => h.close());
  const soon = await h.token(['query'], 'sensors', { expiresIn: '2d' });
  const sweeps = stores.map(
    (store, i) => new ExpirySweep({ store, clock, logger: createLogger('silent'), noticeMs: 86_400_000, intervalMs: 60_000, holder: `replica-${i}` }),
  );
  const sweepAll = async () => {
    // Each replica sweeps twice, the two at once; a second holder's lease is refused while the first's holds.
    await Promise.all(sweeps.map((sweep) => sweep.sweep()));
    await Promise.all(sweeps.map((sweep) => sweep.sweep()));
  };
  const count = async (type: string) =>
    (await stores[1]!.recentEvents(100, [])).filter((e) => e.type === type && (e.data as { id: string }).id === soon.token.id).length;
  await sweepAll();
  t.equal(await count('token.expiring'), 0, 'not yet within the notice');
  clock.advance(86_400_000 + 1000);
  await sweepAll();
  t.equal(await count('token.expiring'), 1, 'within the notice: once');
  // Without the lease (its holder gone, the other replica's sweeps): still once.
  await stores[0]!.lease('expiry-sweep', 'replica-0', 1, clock.now());
  await waitFor(() => stores[1]!.lease('expiry-sweep', 'replica-1', 60_000, clock.now()), { what: 'the lease to pass to replica 1' });
  t.ok((await sweeps[1]!.sweep()) === 0, 'replica 1 sweeps and appends nothing');
  t.equal(await count('token.expiring'), 1, 'the other replica adds none');
  clock.advance(86_400_000);
  await sweepAll();
  t.equal(await count('token.expired'), 1, 'expired: once');
  clock.advance(3_600_000);
  await sweepAll();
  t.equal(await count('token.expired'), 1, 'and not again');
  const [expired] = (await stores[1]!.recentEvents(1, [])).filter((e) => e.type === 'token.expired');
  t.match(expired?.data, { id: soon.token.id, status: 'expired' });
});

t.test('a replica killed mid-delivery leaves the event to another, which finishes it', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver(secret, (_d, nth) => (nth === 0 ? 'hang' : 204));
  t.teardown(() => receiver.close());
  const env = {
    TOLLGATE_STORE_BACKEND: 'redis',
    TOLLGATE_STORE_REDIS_URL: redis.url,
    TOLLGATE_STORE_REDIS_KEY_PREFIX: `k${prefixes++}:`,
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_PROXY_ACCESS_LOG: 'false',
    TOLLGATE_EVENTS_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret, events: ['repository.created'] }]),
    TOLLGATE_EVENTS_TIMEOUT: '1s',
    TOLLGATE_EVENTS_CLAIM_AFTER: '2s',
    TOLLGATE_EVENTS_POLL: '50ms',
  };
  const init = runCli(['init-admin'], env);
  t.equal(await init.exited, 0);
  const admin = /^(tgr_\w{49})$/m.exec(init.stdout())![1]!;
  const first = runCli(['serve'], env);
  t.teardown(() => first.child.kill('SIGKILL'));
  const listening = await first.logLine('tollgate listening');
  const made = await request(`http://127.0.0.1:${String(listening.adminPort)}/v1/repositories`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'sensors' }),
  });
  t.equal(made.statusCode, 201);
  await made.body.dump();
  await waitFor(() => receiver.deliveries.length === 1, { what: 'the first replica sending' });
  const second = runCli(['serve'], env);
  t.teardown(() => second.child.kill('SIGKILL'));
  const secondListening = await second.logLine('tollgate listening');
  first.child.kill('SIGKILL'); // mid-delivery: the receiver has not answered
  await first.exited;
  await waitFor(() => receiver.accepted.size === 1, { what: 'the second replica finishing', timeoutMs: 15_000 });
  const [delivery] = [...receiver.accepted.values()];
  t.equal(delivery!.id, receiver.deliveries[0]!.id, 'the same event, under the same webhook-id');
  t.match(delivery!.body, { type: 'repository.created', data: { name: 'sensors' } });
  t.equal(receiver.unverified, 0);
  const listed = await request(`http://127.0.0.1:${String(secondListening.adminPort)}/v1/events`, { headers: { authorization: `Bearer ${admin}` } });
  const { items } = (await listed.body.json()) as {
    items: Array<{ type: string; data: { name: string }; deliveries: Array<{ state: string; attempts: number }> }>;
  };
  t.match(items[0], { type: 'repository.created', deliveries: [{ state: 'delivered', attempts: 2 }] }, 'the second attempt, by the second replica');
  t.match(items[1], { type: 'token.created', data: { name: 'admin' }, deliveries: [] }, "init-admin's event is kept; this webhook does not name its type");
});
