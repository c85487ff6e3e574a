import t from 'tap';
import { request } from 'undici';
import { Invalidator } from '../../src/admin/invalidator.js';
import { TokenService } from '../../src/admin/token-service.js';
import { startReplica } from '../../src/app.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FakeClock } from '../helpers/fakes.js';
import { startUpstream } from '../helpers/upstream.js';

// A proxy replica is handed the store roles it uses and no other (the ProxyRoleStore type in
// src/app.ts): the cache's lookups, the data plane's last uses, usage and budgets and the
// repositories' default limits, invalidations heard, and health. This runs one over a real memory
// store that notes every member read off it, through a cache miss, a refusal, a metrics scrape and
// shutdown (which writes the last uses and usage), and checks none lies outside those roles.
const PROXY_ROLES = new Set([
  // The cache (CacheStore).
  'getToken',
  'getUser',
  'getTeam',
  'teamsOf',
  'listRepositories',
  // The data plane (DataPlaneStore).
  'touchLastUsed',
  'keepUsageFor',
  'addUsage',
  'usageOf',
  'usedTokens',
  'takeBudget',
  'returnBudget',
  'readBudgets',
  // Invalidations heard, and health.
  'subscribe',
  'backend',
  'ping',
  'watchHealth',
  'close',
]);

t.test('a proxy replica reads nothing off the store outside the roles its type names', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const store = new MemoryStore();
  const clock = new FakeClock(Date.now());
  await store.createRepository({ name: 'sensors', createdAt: clock.now(), createdBy: 'test' });
  const tokens = new TokenService({ store, clock, invalidator: new Invalidator({ apply() {} }, store), connectUri: 'tollgate://{host}?token={secret}' });
  const reader = await tokens.createUnchecked('test', { kind: 'repository', name: 'reader', repository: 'sensors', rights: ['query'] });

  const read = new Set<string>();
  const watched = new Proxy(store, {
    get(target, prop) {
      if (typeof prop === 'string') read.add(prop);
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const config = validate(
    merge(DEFAULTS, {
      role: 'proxy',
      proxy: { listen: '127.0.0.1:0', upstream: upstream.origin, accessLog: false },
      admin: { listen: '127.0.0.1:0' },
      store: { backend: 'memory' },
      log: { level: 'silent' },
    }),
  );
  const proxy = await startReplica(config, watched, createLogger('silent'), clock);
  const url = `http://127.0.0.1:${proxy.proxyPort}/v1/repositories/sensors`;
  const allowed = await request(`${url}/query`, { headers: { authorization: `Bearer ${reader.secret}` } });
  await allowed.body.dump();
  t.equal(allowed.statusCode, 200, 'a cache miss: the token is read and the request forwarded');
  const refused = await request(`${url}/items/1`, { method: 'DELETE', headers: { authorization: `Bearer ${reader.secret}` } });
  await refused.body.dump();
  t.equal(refused.statusCode, 403, 'a refusal, counted in usage');
  const metrics = await request(`http://127.0.0.1:${proxy.adminPort}/metrics`);
  t.equal(metrics.statusCode, 200);
  await metrics.body.dump();
  await proxy.shutdown(0);

  for (const used of ['getToken', 'touchLastUsed', 'addUsage', 'listRepositories', 'subscribe', 'ping', 'close']) {
    t.ok(read.has(used), `${used} was read (the watch sees what the replica uses)`);
  }
  t.same(
    [...read].filter((name) => !PROXY_ROLES.has(name)),
    [],
    'nothing outside the proxy roles',
  );
});
