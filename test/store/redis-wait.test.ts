import t, { type Test } from 'tap';
import { request } from 'undici';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis-store.js';
import { call } from '../helpers/admin-client.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { type ReplicaPair, startReplicaPair } from '../helpers/redis-replica.js';
import { waitFor } from '../helpers/wait-for.js';

// store.redis.waitReplicas (docs/stores.md, "A failover can lose a revocation Redis
// acknowledged"): a token or directory write is answered only once that many replicas hold it,
// and otherwise fails as an outage does, saying the master has it and the replicas may not.

let prefixes = 0;

async function setUp(t: Test, options: Partial<RedisStoreOptions>) {
  const pair = await startReplicaPair();
  t.teardown(() => pair.stop());
  const keyPrefix = `wait${++prefixes}:`;
  const store = new RedisStore({ url: pair.master.url, keyPrefix, commandTimeoutMs: 250, ...options });
  t.teardown(() => store.close());
  t.ok(await store.waitUntilReady(5000), 'connected to the master');
  // A long cache TTL: only an invalidation can make the proxy read a token again.
  const h = await startHarness({ store, config: { cache: { ttl: '10m' } } });
  t.teardown(() => h.close());
  return { pair, store, h, keys: new RedisKeys(keyPrefix) };
}

const proxyStatus = async (h: Awaited<ReturnType<typeof startHarness>>, secret: string) => {
  const res = await request(`${h.proxy}/v1/repositories/sensors/query`, { headers: bearer(secret) });
  await res.body.dump();
  return res.statusCode;
};

/** The admin call with a bound on how long it may take to answer: a hang fails the test, not the run. */
async function bounded(h: Awaited<ReturnType<typeof startHarness>>, method: 'POST' | 'PATCH', path: string, body?: unknown) {
  const res = await request(`${h.admin}${path}`, {
    method,
    headers: { ...bearer(h.adminSecret), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  return { status: res.statusCode, type: String(res.headers['content-type']), body: (await res.body.json()) as Record<string, unknown> };
}

const clientsWaiting = async (pair: ReplicaPair) => /cmd=wait\b/.test(String(await pair.onMaster.call('CLIENT', 'LIST')));

t.test('with waitReplicas 1 and the replica up, a revoke answers once the replica holds it', async (t) => {
  const { pair, h, keys } = await setUp(t, { waitReplicas: 1, waitTimeoutMs: 5000 });
  const token = await h.token(['query']);
  const waitsBefore = await pair.waitsServed();
  t.equal((await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret)).status, 200);
  // Read at once, no polling: that the replica holds it when the API answers is the point.
  t.equal(await pair.onReplica.hget(keys.token(token.token.id), 'status'), 'revoked', 'the replica holds the revoke');
  t.ok((await pair.waitsServed()) > waitsBefore, 'a WAIT was sent after the write');
});

t.test('with waitReplicas 1 and the replica down, a revoke and a grant taken away answer 503 saying the master has them', async (t) => {
  const { pair, store, h, keys } = await setUp(t, { waitReplicas: 1, waitTimeoutMs: 300 });
  const token = await h.token(['query']);
  t.equal(await proxyStatus(h, token.secret), 200, 'the token is served (and cached)');
  t.equal((await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'ada', grants: { sensors: ['query'] } })).status, 201);
  await pair.replica.kill();

  const revoke = await bounded(h, 'POST', `/v1/tokens/${token.token.id}/revoke`);
  t.equal(revoke.status, 503);
  t.match(revoke.type, /^application\/problem\+json/);
  t.equal(revoke.body.type, '/problems/store-unavailable');
  t.match(String(revoke.body.detail), /made on the Redis master, but 0 of the 1 replica\(s\) .*acknowledged it within 300 ms.*Retry/);
  t.equal(await pair.onMaster.hget(keys.token(token.token.id), 'status'), 'revoked', 'the master holds the revoke');
  // The caller got an error, not a success it would publish: the store evicted the token itself.
  await waitFor(async () => (await proxyStatus(h, token.secret)) === 401, { what: 'the proxy to refuse the revoked token', timeoutMs: 10_000 });
  t.equal((await request(`${h.admin}/readyz`)).statusCode, 200, 'the master answers: the store is not down');

  const narrowed = await bounded(h, 'PATCH', '/v1/users/ada', { grants: {} });
  t.equal(narrowed.status, 503);
  t.equal(narrowed.body.type, '/problems/store-unavailable');
  t.same((await store.getUser('ada'))?.grants, {}, 'the master holds the narrowed grants');
});

t.test('a WAIT that waits for a missing replica does not hold up token lookups', async (t) => {
  const { pair, store, h } = await setUp(t, { waitReplicas: 1, waitTimeoutMs: 3000 });
  const [revoked, other] = [await h.token(['query']), await h.token(['query'])];
  await pair.replica.kill();
  const revoke = bounded(h, 'POST', `/v1/tokens/${revoked.token.id}/revoke`);
  await waitFor(() => clientsWaiting(pair), { what: 'the revoke to wait for the replica', timeoutMs: 10_000, everyMs: 20 });
  // The lookup runs on the commands connection, with its 250 ms timeout; the WAIT is on the writer's.
  t.equal((await store.getToken(other.token.id))?.status, 'active', 'looked up while the WAIT blocks');
  t.ok(await clientsWaiting(pair), 'the WAIT was still waiting then');
  t.equal((await revoke).status, 503);
});

t.test('with waitReplicas 0 no WAIT is sent and a revoke answers as before', async (t) => {
  const { pair, h, keys } = await setUp(t, {});
  const token = await h.token(['query']);
  await pair.replica.kill();
  t.equal((await call(h, 'POST', `/v1/tokens/${token.token.id}/revoke`, h.adminSecret)).status, 200, 'no replica is needed');
  t.equal(await pair.onMaster.hget(keys.token(token.token.id), 'status'), 'revoked');
  t.equal(await pair.waitsServed(), 0, 'the master served no WAIT');
});

t.test('with the replica down, revoking a maker answers 503 and still revokes what it lent, on the master and at the proxy', async (t) => {
  const { pair, h, keys } = await setUp(t, { waitReplicas: 1, waitTimeoutMs: 300 });
  const body = (name: string, extra: Record<string, unknown>) => ({ kind: 'repository', name, repository: 'sensors', ...extra });
  const maker = await call(h, 'POST', '/v1/tokens', h.adminSecret, body('lender', { rights: ['admin', 'query'] }));
  t.equal(maker.status, 201);
  const lent = await call(h, 'POST', '/v1/tokens', maker.body.secret, body('loan', { rights: ['query'], lend: true }));
  t.equal(lent.status, 201);
  t.equal(await proxyStatus(h, lent.body.secret), 200, 'the loan is served (and cached)');
  await pair.replica.kill();

  const revoke = await bounded(h, 'POST', `/v1/tokens/${maker.body.token.id}/revoke`);
  t.equal(revoke.status, 503, 'the revoke is not confirmed');
  t.equal(await pair.onMaster.hget(keys.token(maker.body.token.id), 'status'), 'revoked');
  // Read at once: the call went on to the loan before it answered.
  t.equal(await pair.onMaster.hget(keys.token(lent.body.token.id), 'status'), 'revoked', 'the loan was revoked with its maker');
  await waitFor(async () => (await proxyStatus(h, lent.body.secret)) === 401, { what: 'the proxy to refuse the loan', timeoutMs: 10_000 });
  const retry = await bounded(h, 'POST', `/v1/tokens/${maker.body.token.id}/revoke`);
  t.equal(retry.status, 409, 'a retry finds the maker revoked: nothing was left for it to do');
});

t.test('with the replica down, a team taken away from a user and an organization made answer 503 saying the master has them', async (t) => {
  const { pair, h, keys } = await setUp(t, { waitReplicas: 1, waitTimeoutMs: 300 });
  t.equal((await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'grace', grants: {} })).status, 201);
  t.equal((await call(h, 'POST', '/v1/teams', h.adminSecret, { name: 'ops', members: ['grace'], grants: { sensors: ['query'] } })).status, 201);
  await pair.replica.kill();

  const team = await bounded(h, 'PATCH', '/v1/teams/ops', { members: [] });
  t.equal(team.status, 503, 'a member taken away is not confirmed');
  t.equal(team.body.type, '/problems/store-unavailable');
  t.match(String(team.body.detail), /made on the Redis master/);
  t.equal(await pair.onMaster.sismember(keys.userTeams('grace'), 'ops'), 0, 'the master no longer names grace in ops');

  const organization = await bounded(h, 'POST', '/v1/organizations', { name: 'acme' });
  t.equal(organization.status, 503, 'an organization made is not confirmed');
  t.match(String(organization.body.detail), /made on the Redis master/);
  t.ok(await pair.onMaster.hexists(keys.organizations, 'acme'), 'the master holds the organization');
});
