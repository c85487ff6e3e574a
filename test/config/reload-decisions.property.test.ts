import fc from 'fast-check';
import t from 'tap';
import { DecisionStep, type Judged } from '../../src/auth/decide.js';
import type { DenyReason } from '../../src/auth/decision.js';
import { LastUsedRecorder } from '../../src/auth/last-used.js';
import { RouteTable } from '../../src/auth/routes.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import { ConfigReloader } from '../../src/config/reload.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { routesPart } from '../../src/proxy/data-plane-reload.js';
import { RecordingObserver } from '../helpers/fakes.js';
import { startHarness } from '../helpers/harness.js';

// Applying a configuration by reload is the same as starting with it: a decision step that began
// on one route table and was given another by the reloader decides every request exactly as a
// step built on the second table from the start.

const h = await startHarness({});
t.teardown(() => h.close());
const secrets = [
  (await h.token(['query'])).secret,
  (await h.token(['stream', 'modify'])).secret,
  (await h.token(['query', 'delete'], 'billing')).secret,
  (await h.token(['query', 'stream', 'modify', 'delete'], '*')).secret,
];
const cache = new TokenCache({
  store: h.tollgate.store,
  clock: h.clock,
  observer: new RecordingObserver(),
  max: 100,
  ttlMs: 3_600_000,
  negativeMax: 100,
  negativeTtlMs: 3_600_000,
  staleIfErrorMs: 0,
});
const lastUsed = new LastUsedRecorder(h.tollgate.store, h.clock, 3_600_000);
const silent = createLogger('silent');

const configWith = (routes: unknown[]): Config => validate(merge(DEFAULTS, { routes }));

const RIGHT = fc.constantFrom('query', 'stream', 'modify', 'delete', 'admin');
const route = fc.record(
  {
    path: fc.constantFrom(
      '/v1/repositories/:repository/stream',
      '/v1/repositories/:repository/events',
      '/v1/repositories/:repository/**',
      '/v1/repositories/sensors/stream',
      '/ingest/**',
      '/health',
      '/**',
    ),
    methods: fc.dictionary(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'WEBSOCKET'), RIGHT, { maxKeys: 3 }),
    public: fc.boolean(),
    tokenIn: fc.subarray(['header', 'query', 'protocol'], { minLength: 1 }),
    repositoryHeader: fc.constant('x-repository'),
  },
  { requiredKeys: ['path'] },
);
const table = fc.array(route, { maxLength: 6 });

const request = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  path: fc.constantFrom(
    '/v1/repositories/sensors/stream',
    '/v1/repositories/billing/events',
    '/v1/repositories/sensors/x/y',
    '/ingest/a',
    '/health',
    '/other',
    '/v1/repositories/SENSORS/stream',
  ),
  secret: fc.option(fc.constantFrom(...secrets), { nil: undefined }),
  inQuery: fc.boolean(),
  isUpgrade: fc.boolean(),
  repositoryHeader: fc.option(fc.constantFrom('sensors', 'billing', 'no such!'), { nil: undefined }),
});
type Asked = typeof request extends fc.Arbitrary<infer A> ? A : never;

type Verdict = ['allowed', string, string | undefined] | ['refused', DenyReason, string];

/** What the step answers to one request, once its token lookup (if any) has settled. */
function judge(step: DecisionStep, asked: Asked): Promise<Verdict> {
  const rawHeaders: string[] = [];
  let url = asked.path;
  if (asked.secret !== undefined && asked.inQuery) url += `?access_token=${asked.secret}`;
  else if (asked.secret !== undefined) rawHeaders.push('authorization', `Bearer ${asked.secret}`);
  if (asked.repositoryHeader !== undefined) rawHeaders.push('x-repository', asked.repositoryHeader);
  const judged: Judged = {
    method: asked.method,
    url,
    rawHeaders,
    isUpgrade: asked.isUpgrade && asked.method === 'GET',
    isDone: false,
    credential: 'none',
    remoteAddress: '127.0.0.1',
    userAgent: () => undefined,
  };
  return Promise.resolve(step.decide(judged)).then(
    (verdict): Verdict => (verdict.allowed ? ['allowed', verdict.right, verdict.identity?.repository] : ['refused', verdict.reason, verdict.right]),
  );
}

t.test('a step given a route table by reload decides every request as one started with that table', async (t) => {
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(table, table, fc.array(request, { minLength: 1, maxLength: 12 }), async (before, after, asked) => {
      const started = configWith(before);
      const applied = configWith(after);
      const reloaded = new DecisionStep({ cache, routes: new RouteTable(started.routes), lastUsed, clock: h.clock });
      const reloader = new ConfigReloader({ config: started, parts: [routesPart(reloaded, undefined, h.clock, silent)], logger: silent });
      reloader.apply(applied);
      const fresh = new DecisionStep({ cache, routes: new RouteTable(applied.routes), lastUsed, clock: h.clock });
      for (const one of asked) {
        const [got, want] = await Promise.all([judge(reloaded, one), judge(fresh, one)]);
        seen.add(got[0] === 'allowed' ? 'allowed' : got[1]);
        if (JSON.stringify(got) !== JSON.stringify(want))
          throw new Error(`${JSON.stringify(one)}: reloaded ${JSON.stringify(got)}, fresh ${JSON.stringify(want)}`);
      }
    }),
    { numRuns: 150 },
  );
  // The generated worlds reach allowed requests and the refusals a route table decides.
  for (const outcome of ['allowed', 'no_route', 'method_not_allowed', 'insufficient_scope', 'missing_token'])
    t.ok(seen.has(outcome), `some request was ${outcome}`);
});

t.test('reloading the table a step started with changes no decision and no generation', async (t) => {
  await fc.assert(
    fc.asyncProperty(table, fc.array(request, { minLength: 1, maxLength: 8 }), async (routes, asked) => {
      const config = configWith(routes);
      const step = new DecisionStep({ cache, routes: new RouteTable(config.routes), lastUsed, clock: h.clock });
      const before = await Promise.all(asked.map((one) => judge(step, one)));
      const reloader = new ConfigReloader({ config, parts: [routesPart(step, undefined, h.clock, silent)], logger: silent });
      const result = reloader.apply(configWith(routes));
      if (result.outcome !== 'unchanged' || reloader.generation !== 1) throw new Error(`outcome ${result.outcome}, generation ${reloader.generation}`);
      const after = await Promise.all(asked.map((one) => judge(step, one)));
      if (JSON.stringify(before) !== JSON.stringify(after)) throw new Error('a decision changed');
    }),
    { numRuns: 50 },
  );
  t.pass('unchanged');
});
