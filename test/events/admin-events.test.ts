import t, { type Test } from 'tap';
import { call } from '../helpers/admin-client.js';
import { runAdmin, runToEnd } from '../helpers/cli.js';
import { FakeClock } from '../helpers/fakes.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';
import { newSecret, type Receiver, startReceiver } from '../helpers/webhook-receiver.js';

// The admin side of events on the memory store: every change makes its event, GET /v1/events
// is scoped by the admin policy, `tollgate events` prints it, and the metrics count it.

class RealClock extends FakeClock {
  override now(): number {
    return Date.now();
  }
}

async function withWebhook(t: Test, events: string[] = ['*']): Promise<{ h: Harness; receiver: Receiver }> {
  const secret = newSecret();
  const receiver = await startReceiver(secret);
  t.teardown(() => receiver.close());
  const h = await startHarness({
    clock: new RealClock(),
    config: { events: { webhooks: [{ url: receiver.url, secret, events }], poll: '20ms', backoff: { initial: '20ms', max: '100ms' } } },
  });
  t.teardown(() => h.close());
  return { h, receiver };
}

t.test('every change through the admin API is an event, in order, with the JSON view and no secret', async (t) => {
  const { h, receiver } = await withWebhook(t);
  const admin = h.adminSecret;
  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await call(h, method, path, admin, body);
    t.ok(res.status < 300, `${method} ${path} -> ${res.status}`);
    return res.body;
  };
  await ok('POST', '/v1/repositories', { name: 'logs' });
  await ok('POST', '/v1/users', { name: 'alice', grants: { sensors: ['query'] } });
  await ok('PATCH', '/v1/users/alice', { grants: { sensors: ['query', 'stream'] } });
  await ok('POST', '/v1/teams', { name: 'ops', members: ['alice'], grants: {} });
  await ok('PATCH', '/v1/teams/ops', { members: [] });
  const made = await ok('POST', '/v1/tokens', { kind: 'repository', name: 'ci', repository: 'logs', rights: ['query'] });
  const id = made.token.id as string;
  await ok('PATCH', `/v1/tokens/${id}`, { name: 'ci-2' });
  await ok('POST', `/v1/tokens/${id}/revoke`);
  await ok('POST', `/v1/tokens/${id}/restore`);
  const rolled = await ok('POST', `/v1/tokens/${id}/roll`, { overlap: '1h' });
  t.same((await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: [rolled.secret] })).body, { received: 1, revoked: 1 });
  await ok('POST', `/v1/tokens/${id}/revoke`);
  await ok('DELETE', `/v1/tokens/${id}`);
  await ok('DELETE', '/v1/teams/ops');
  await ok('DELETE', '/v1/users/alice');
  await ok('DELETE', '/v1/repositories/logs');
  const expected = [
    'repository.created',
    'user.created',
    'user.edited',
    'team.created',
    'team.edited',
    'token.created',
    'token.edited',
    'token.revoked',
    'token.restored',
    'token.created',
    'token.rolled',
    'token.leaked',
    'token.revoked',
    'token.deleted',
    'team.deleted',
    'user.deleted',
    'repository.deleted',
  ];
  await waitFor(() => receiver.accepted.size >= expected.length + 1, { what: 'every event' });
  const types = receiver.deliveries.map((d) => d.body.type).filter((_, i) => i > 0); // the first is the harness's admin token
  t.same(types, expected);
  t.equal(receiver.unverified, 0);
  const byType = (type: string) => receiver.deliveries.filter((d) => d.body.type === type);
  t.match(byType('token.rolled')[0]!.body.data, { id, name: 'ci-2', repository: 'logs' });
  t.match(byType('token.leaked')[0]!.body.data, { id: rolled.token.id, status: 'revoked' });
  t.match(byType('token.deleted')[0]!.body.data, { id, status: 'revoked' });
  t.match(byType('user.edited')[0]!.body.data, { name: 'alice', grants: { sensors: ['query', 'stream'] }, teams: [] });
  t.match(byType('team.deleted')[0]!.body.data, { name: 'ops', members: [] });
  t.match(byType('repository.deleted')[0]!.body.data, { name: 'logs', createdBy: `token:${byType('token.created')[0]!.body.data.id}` });
  for (const d of receiver.deliveries) {
    t.notOk(d.raw.includes(made.secret) || d.raw.includes(rolled.secret) || /"hash"/.test(d.raw), `no secret or hash in ${d.body.type}`);
    t.match(d.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  }
  const metrics = await call(h, 'GET', '/metrics', undefined);
  t.match(metrics.body, /tollgate_webhook_deliveries_total\{outcome="delivered"\} (1[89]|[2-9]\d)/);
  t.match(metrics.body, /tollgate_webhook_backlog 0/);
});

t.test('a webhook gets only the types it names', async (t) => {
  const { h, receiver } = await withWebhook(t, ['token.revoked']);
  const made = await h.token(['query']);
  t.equal((await call(h, 'POST', `/v1/tokens/${made.token.id}/revoke`, h.adminSecret)).status, 200);
  await waitFor(() => receiver.accepted.size === 1, { what: 'the revoke' });
  await waitFor(async () => (await h.tollgate.outbox.backlog()) === 0, { what: 'an empty backlog' });
  t.same(
    receiver.deliveries.map((d) => d.body.type),
    ['token.revoked'],
  );
});

t.test("GET /v1/events: a * admin sees all, a scoped admin its repositories' token and repository events, others nothing", async (t) => {
  const { h, receiver } = await withWebhook(t);
  const scoped = await h.token(['admin', 'query'], 'sensors');
  const plain = await h.token(['query'], 'sensors');
  await h.token(['query'], 'billing');
  await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'bob', grants: {} });
  await waitFor(() => receiver.accepted.size === 5, { what: 'the events' });
  const star = await call(h, 'GET', '/v1/events', h.adminSecret);
  t.equal(star.status, 200);
  t.same(
    star.body.items.map((e: { type: string }) => e.type),
    ['user.created', 'token.created', 'token.created', 'token.created', 'token.created'],
  );
  t.match(star.body.items[0], {
    id: /^msg_/,
    timestamp: /Z$/,
    data: { name: 'bob' },
    deliveries: [{ webhook: receiver.url, state: 'delivered', attempts: 1, lastStatus: 204, lastError: null }],
  });
  const mine = await call(h, 'GET', '/v1/events', scoped.secret);
  t.equal(mine.status, 200);
  t.same(
    mine.body.items.map((e: { data: { repository: string } }) => e.data.repository),
    ['sensors', 'sensors'],
    "its own repository's tokens only: no billing, no *, no user",
  );
  t.equal((await call(h, 'GET', '/v1/events', plain.secret)).status, 403);
  t.equal((await call(h, 'GET', '/v1/events', undefined)).status, 401);
  const limited = await call(h, 'GET', '/v1/events?limit=2&type=token.created', h.adminSecret);
  t.same(
    limited.body.items.map((e: { type: string }) => e.type),
    ['token.created', 'token.created'],
  );
  t.equal((await call(h, 'GET', '/v1/events?limit=0', h.adminSecret)).status, 400);
  t.equal((await call(h, 'GET', '/v1/events?type=token.nope', h.adminSecret)).status, 400);
});

t.test('without webhooks the events are kept all the same (the audit log), with no deliveries', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const made = await h.token(['query']);
  const items = (await call(h, 'GET', '/v1/events', h.adminSecret)).body.items as Array<{ type: string; data: { id: string }; deliveries: unknown[] }>;
  t.match(items[0], { type: 'token.created', data: { id: made.token.id }, deliveries: [] });
  t.equal((await h.tollgate.store.recentEvents(10, [])).length, items.length);
});

t.test('tollgate events prints recent events and their deliveries', async (t) => {
  const { h, receiver } = await withWebhook(t);
  const made = await h.token(['query']);
  await waitFor(() => receiver.accepted.size === 2, { what: 'the events' });
  const env = { TOLLGATE_TOKEN: h.adminSecret, TOLLGATE_ADMIN_URL: h.admin };
  const table = await runToEnd(['events'], env);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /^WHEN +BY +TYPE +SUBJECT +EVENT +WEBHOOK +STATE +ATTEMPTS/);
  t.match(table.stdout, new RegExp(`token\\.created +"${made.token.name}" ${made.token.id} +msg_\\S+ +${receiver.url.replace(/[/.]/g, '\\$&')} +delivered +1`));
  // The table from the built CLI as a process; the rest in this process (the CLI's own entry, no process start).
  const json = await runAdmin(['events', '--json', '--limit', '1', '--type', 'token.created'], env);
  t.equal(json.code, 0);
  t.equal(JSON.parse(json.stdout).items[0].data.id, made.token.id);
  t.equal((await runAdmin(['events', '--limit', '9999'], env)).code, 2);
  t.equal((await runAdmin(['events', 'extra'], env)).code, 2);
  const refused = await runAdmin(['events'], { ...env, TOLLGATE_TOKEN: made.secret });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /403/);
  t.match((await runAdmin(['events', '--help'], env)).stdout, /Usage: tollgate events/);
});

t.test('the sweep runs on its timer: token.expiring reaches the webhook', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver(secret);
  t.teardown(() => receiver.close());
  const h = await startHarness({
    clock: new RealClock(),
    config: { events: { webhooks: [{ url: receiver.url, secret, events: ['token.expiring'] }], poll: '20ms', sweepInterval: '100ms', expiringNotice: '1h' } },
  });
  t.teardown(() => h.close());
  const made = await h.token(['query'], 'sensors', { expiresIn: '30m' });
  await waitFor(() => receiver.accepted.size === 1, { what: 'token.expiring' });
  t.match([...receiver.accepted.values()][0]!.body, { type: 'token.expiring', data: { id: made.token.id, status: 'active' } });
});

t.test('stopping a sender cuts its POST in flight short; the event stays to retry', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver(secret, () => 'hang');
  t.teardown(() => receiver.close());
  const h = await startHarness({ clock: new RealClock(), config: { events: { webhooks: [{ url: receiver.url, secret }], poll: '20ms' } } });
  await waitFor(() => receiver.deliveries.length === 1, { what: "the admin token's event in flight" });
  const started = Date.now();
  await h.close();
  t.ok(Date.now() - started < 5000, 'shutdown does not wait out the 10 s timeout');
  const [event] = await h.tollgate.store.recentEvents(1, [h.tollgate.outbox.senders[0]!.id]);
  t.match(event!.deliveries.get(h.tollgate.outbox.senders[0]!.id), { state: 'waiting', lastError: 'stopped: this replica is shutting down' });
});
