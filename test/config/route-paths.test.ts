import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { faultsOf } from '../helpers/config.js';

const withRoutes = (t: Test, paths: string[], env: NodeJS.ProcessEnv = {}) => {
  const yaml = `routes:\n${paths.map((path) => `  - { path: ${JSON.stringify(path)} }`).join('\n')}\n`;
  const dir = t.testdir({ 'tollgate.yaml': yaml });
  return loadConfig({ path: `${dir}/tollgate.yaml`, required: true, env });
};

// Each can never match a request that passes the target check, or would match one it should not.
const REFUSED = [
  '/v1/repositories/:repository/../admin',
  '/a/./b',
  '/a/..',
  '/a/%2e%2e/b',
  '/a/.%2E/b',
  '/a%2fb',
  '/a%5cb',
  '/a/..;/b',
  '/a/.;x/b',
  '/a/x;../b',
  '/a\\b',
  'v1/no-leading-slash',
  '',
  '//host/a',
  '/a//b',
  '/a/',
  '/a/**/b',
  '/a/**x',
  '/a/*',
  '/a/x*y',
  '/a/:user',
  '/a/:repository/:repository',
  '/a?x=1',
  '/a#f',
  'http://host/a',
  '/a/\u0000',
  '/a/%00',
  '/caf\u00e9',
];

t.test('a route path a request target could never be is refused at load, naming routes.N.path', async (t) => {
  for (const path of REFUSED) {
    const faults = faultsOf(() => withRoutes(t, ['/health', path]));
    t.equal(faults.length, 1, JSON.stringify(path));
    t.ok(faults[0]!.startsWith('routes.1.path: expected '), faults[0]!);
    t.ok(faults[0]!.endsWith(`, got ${JSON.stringify(path)}`), faults[0]!);
  }
});

t.test('the fault says why: a dot segment, an encoded character, the pattern syntax', async (t) => {
  t.same(
    faultsOf(() => withRoutes(t, ['/a/../b'])),
    ['routes.0.path: expected no . or .. segment (a request with one is refused, so the route could never match), got "/a/../b"'],
  );
  t.same(
    faultsOf(() => withRoutes(t, ['/a/%2e%2e'])),
    [
      'routes.0.path: expected no percent-encoded characters (requests are matched as sent, and %2e, %2f, %5c, %00 and %25 in them are refused), got "/a/%2e%2e"',
    ],
  );
  t.same(
    faultsOf(() => withRoutes(t, ['/a/:user'])),
    ['routes.0.path: expected a path of literal segments, :repository and a final /**, got "/a/:user"'],
  );
});

t.test('route paths refused through TOLLGATE_ROUTES too', async (t) => {
  t.same(
    faultsOf(() => withRoutes(t, ['/health'], { TOLLGATE_ROUTES: '[{ path: /ok }, { path: /x/../y }]' })),
    ['routes.1.path: expected no . or .. segment (a request with one is refused, so the route could never match), got "/x/../y"'],
  );
});

t.test('ordinary route paths are accepted as written', async (t) => {
  const paths = [
    '/',
    '/**',
    '/health',
    '/v1/repositories/:repository/stream',
    '/v1/repositories/:repository/**',
    '/ingest.v1.Ingest/**',
    '/a.b/c~d/e-f_g',
    '/a/...',
    '/a/.well-known/x',
    '/a;v=1',
    "/a/!$&'()+,=@",
  ];
  t.same(
    withRoutes(t, paths).routes.map((r) => r.path),
    paths,
  );
});
