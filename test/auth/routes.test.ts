import t from 'tap';
import { RouteTable, rightFor } from '../../src/auth/routes.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { validate } from '../../src/config/load.js';

const table = new RouteTable(validate(structuredClone(DEFAULTS)).routes);

t.test('the :repository parameter is captured', async (t) => {
  const match = table.match('/v1/repositories/sensors/query?from=1');
  t.equal(match?.route.path, '/v1/repositories/:repository/**');
  t.equal(match?.repository, 'sensors');
});

t.test('first match wins: the stream route before the catch-all', async (t) => {
  const match = table.match('/v1/repositories/sensors/stream');
  t.equal(match?.route.path, '/v1/repositories/:repository/stream');
  t.equal(rightFor(match!.route, 'PUT'), 'stream');
  t.equal(rightFor(match!.route, 'GET'), 'query', 'methods outside the route map fall back to the defaults');
});

t.test('** matches zero or more segments', async (t) => {
  t.equal(table.match('/v1/repositories/sensors')?.repository, 'sensors');
  t.equal(table.match('/v1/repositories/sensors/a/b/c')?.repository, 'sensors');
});

t.test('no match is undefined (deny by default)', async (t) => {
  for (const path of ['/', '/v1', '/v1/repositories', '/v2/repositories/sensors/x', '/healthz', '/health/x']) {
    t.equal(table.match(path), undefined, path);
  }
});

t.test('a repository segment must be a valid name', async (t) => {
  t.equal(table.match('/v1/repositories/Sensors/query'), undefined);
  t.equal(table.match('/v1/repositories/%73ensors/query'), undefined);
  t.equal(table.match('/v1/repositories/-x/query'), undefined);
});

t.test('a public route matches with and without a trailing slash', async (t) => {
  t.equal(table.match('/health')?.route.isPublic, true);
  t.equal(table.match('/health/')?.route.isPublic, true);
});

t.test('literal segments match exactly', async (t) => {
  t.equal(table.match('/V1/repositories/sensors/query'), undefined);
  t.equal(table.match('/v1/repositoriesX/sensors/query'), undefined);
});

t.test('the default verb map, and no right for other methods', async (t) => {
  const route = table.match('/v1/repositories/sensors/x')!.route;
  t.same(
    ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'].map((m) => rightFor(route, m)),
    ['query', 'query', 'stream', 'modify', 'modify', 'delete', undefined, undefined],
  );
});

t.test('a route method map can give a method the default map lacks', async (t) => {
  const custom = new RouteTable([{ path: '/x/:repository', methods: { OPTIONS: 'query' } }]);
  t.equal(rightFor(custom.match('/x/a')!.route, 'OPTIONS'), 'query');
});
