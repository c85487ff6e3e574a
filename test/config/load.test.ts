import t from 'tap';
import { parseDuration } from '../../src/config/duration.js';
import { envName, loadConfig } from '../../src/config/load.js';
import { faultsOf, fromYaml } from '../helpers/config.js';

t.test('durations parse in every unit and refuse anything else', async (t) => {
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('30s'), 30_000);
  t.equal(parseDuration('5m'), 300_000);
  t.equal(parseDuration('12h'), 43_200_000);
  t.equal(parseDuration('30d'), 2_592_000_000);
  t.equal(parseDuration('1.5s'), 1500);
  for (const bad of ['thirty', '30', 's', '-5s', '5 weeks', '']) t.equal(parseDuration(bad), undefined, bad);
});

t.test('a missing optional file gives the documented defaults', async (t) => {
  const config = loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env: {} });
  t.same(config.proxy.listen, { host: '0.0.0.0', port: 8080 });
  t.equal(config.proxy.upstream, 'http://127.0.0.1:8000');
  t.equal(config.cache.ttl, 30_000);
  t.equal(config.cache.negativeTtl, 5_000);
  t.equal(config.store.backend, 'file');
  t.equal(config.routes.length, 4);
  t.same(config.routes[0]!.methods, { POST: 'stream', PUT: 'stream', WEBSOCKET: 'stream' });
  t.same(config.routes[1]!.tokenIn, ['header', 'query']);
  t.equal(config.proxy.endOnRevoke, true);
});

t.test('a missing file named explicitly is a fault naming the path', async (t) => {
  const faults = faultsOf(() => loadConfig({ path: '/nonexistent/x.yaml', required: true, env: {} }));
  t.match(faults[0], /^\/nonexistent\/x\.yaml: cannot read the config file \(ENOENT\)/);
});

t.test('file values override defaults key by key', async (t) => {
  const config = fromYaml(t, 'cache:\n  ttl: 10s\nproxy:\n  upstream: http://10.0.0.1:9000\n');
  t.equal(config.cache.ttl, 10_000);
  t.equal(config.cache.max, 100_000, 'sibling keys keep their defaults');
  t.equal(config.proxy.upstream, 'http://10.0.0.1:9000');
});

t.test('each fault is one line naming the key, what was found and what is allowed', async (t) => {
  const faults = faultsOf(() =>
    fromYaml(t, ['cache:', '  ttl: thirty', '  max: -1', 'proxy:', '  listen: nowhere', '  accessLog: "yes"', 'store:', '  backend: mysql'].join('\n')),
  );
  t.same(faults.sort(), [
    'cache.max: expected a whole number from 1 to 1000000, got -1',
    'cache.ttl: expected a duration such as 250ms, 30s, 5m or 30d, got "thirty"',
    'proxy.accessLog: expected true or false, got "yes"',
    'proxy.listen: expected host:port such as 0.0.0.0:8080, got "nowhere"',
    'store.backend: expected one of file, redis, memory, got "mysql"',
  ]);
});

t.test('unknown keys are faults, at any depth', async (t) => {
  const faults = faultsOf(() => fromYaml(t, 'cache:\n  ttl: 5s\n  tll: 5s\nproxxy: {}\n'));
  t.same(faults.sort(), ['cache.tll: unknown key', 'proxxy: unknown key']);
});

t.test('an upstream with a path or another scheme is refused', async (t) => {
  t.match(faultsOf(() => fromYaml(t, 'proxy: { upstream: "http://x:1/api" }'))[0], /^proxy\.upstream: expected an origin/);
  t.match(faultsOf(() => fromYaml(t, 'proxy: { upstream: "ftp://x" }'))[0], /^proxy\.upstream: expected an origin/);
});

t.test('routes are checked entry by entry', async (t) => {
  const faults = faultsOf(() =>
    fromYaml(t, ['routes:', '  - { path: "no-slash" }', '  - { path: /a, methods: { GET: fly, BREW: query } }', '  - { path: /a/**/b }'].join('\n')),
  );
  t.same(faults.sort(), [
    'routes.0.path: expected a path of literal segments, :repository and a final /**, got "no-slash"',
    'routes.1.methods.BREW: expected a method, one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, WEBSOCKET, got "BREW"',
    'routes.1.methods.GET: expected a right, one of stream, query, modify, delete, admin, got "fly"',
    'routes.2.path: expected a path of literal segments, :repository and a final /**, got "/a/**/b"',
  ]);
});

t.test('tokenIn names only header, query and protocol, each once', async (t) => {
  const faults = faultsOf(() =>
    fromYaml(t, ['routes:', '  - { path: /a, tokenIn: [cookie] }', '  - { path: /b, tokenIn: [query, query] }', '  - { path: /c, tokenIn: [] }'].join('\n')),
  );
  t.equal(faults.length, 3);
  for (const [i, fault] of faults.sort().entries())
    t.match(fault, new RegExp(`^routes\\.${i}\\.tokenIn: expected a non-empty list without repeats of header, query, protocol`));
});

t.test('not YAML, or not a map, is one clear fault', async (t) => {
  t.match(faultsOf(() => fromYaml(t, 'proxy: [unclosed'))[0], /tollgate\.yaml:\d+:\d+: not valid YAML/);
  t.match(faultsOf(() => fromYaml(t, '- a\n- b\n'))[0], /expected a map of settings at the top level/);
  // It parses, but the alias names no anchor: found by the config-loader property test.
  t.match(faultsOf(() => fromYaml(t, '*!'))[0], /tollgate\.yaml: not valid YAML: Unresolved alias/);
});

t.test('environment variables override the file, typed by the key they set', async (t) => {
  const config = fromYaml(t, 'cache:\n  ttl: 10s\n', {
    TOLLGATE_CACHE_TTL: '2s',
    TOLLGATE_STORE_REDIS_URL: 'redis://db:6379/1',
    TOLLGATE_STORE_REDIS_KEY_PREFIX: 'tg:',
    TOLLGATE_PROXY_FORWARD_AUTHORIZATION: 'true',
    TOLLGATE_PROXY_CONNECTIONS: '16',
    TOLLGATE_ROUTES: '[{ path: /only, public: true }]',
    TOLLGATE_TOKEN: 'belongs to the CLI, not a key',
  });
  t.equal(config.cache.ttl, 2000);
  t.equal(config.store.redis.url, 'redis://db:6379/1');
  t.equal(config.store.redis.keyPrefix, 'tg:');
  t.equal(config.proxy.forwardAuthorization, true);
  t.equal(config.proxy.connections, 16);
  t.same(config.routes, [{ path: '/only', public: true }]);
});

t.test('a bad or unknown environment variable is a fault naming it', async (t) => {
  const faults = faultsOf(() => fromYaml(t, '', { TOLLGATE_CACHE_TTL: 'soon', TOLLGATE_CACHE_TLL: '5s' }));
  t.same(faults.sort(), [
    'TOLLGATE_CACHE_TLL: unknown environment variable; keys are TOLLGATE_<PATH> such as TOLLGATE_STORE_REDIS_URL',
    'cache.ttl: expected a duration such as 250ms, 30s, 5m or 30d, got "soon"',
  ]);
});

t.test('environment names follow the key path', async (t) => {
  t.equal(envName(['store', 'redis', 'url']), 'TOLLGATE_STORE_REDIS_URL');
  t.equal(envName(['cache', 'staleIfError']), 'TOLLGATE_CACHE_STALE_IF_ERROR');
});

t.test('Redis topologies: sentinels need a name, and sentinels and cluster exclude each other', async (t) => {
  const config = fromYaml(t, 'store:\n  redis:\n    cluster: ["127.0.0.1:7000", "127.0.0.1:7001"]\n');
  t.same(config.store.redis.cluster, [
    { host: '127.0.0.1', port: 7000 },
    { host: '127.0.0.1', port: 7001 },
  ]);
  t.same(
    faultsOf(() => fromYaml(t, 'store:\n  redis:\n    sentinels: ["s1:26379"]\n')),
    ['store.redis.name: expected the Sentinel master name (e.g. mymaster) when sentinels are set'],
  );
  t.same(
    faultsOf(() => fromYaml(t, 'store:\n  redis:\n    sentinels: ["s1:26379"]\n    name: m\n    cluster: ["c:1"]\n')),
    ['store.redis.cluster: give sentinels or cluster, not both'],
  );
  t.same(
    faultsOf(() => fromYaml(t, 'store:\n  redis:\n    cluster: [nowhere]\n')),
    ['store.redis.cluster.0: expected host:port such as 0.0.0.0:8080, got "nowhere"'],
  );
  const env = fromYaml(t, '', { TOLLGATE_STORE_REDIS_SENTINELS: '[s1:26379, s2:26379]', TOLLGATE_STORE_REDIS_NAME: 'mymaster' });
  t.equal(env.store.redis.sentinels.length, 2);
});
