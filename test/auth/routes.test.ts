import t from 'tap';
import { canonicalSegment, RouteTable, rightFor } from '../../src/auth/routes.js';
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

t.test('a segment spelling a literal another way is ambiguous where a route has that literal', async (t) => {
  for (const path of [
    '/v1/repositories/sensors/STREAM',
    '/v1/repositories/sensors/%73tream',
    '/v1/repositories/sensors/stream;v=1',
    '/v1/repositories/sensors/stream%3b',
    '/v1/repositories/sensors/stream.',
    '/v1/repositories/sensors/%EF%BD%93tream',
    '/v1/repositories/sensors/%C5%BFtream',
    '/HEALTH',
    '/Health/',
    '/v1/REPOSITORIES/x',
  ]) {
    t.equal(table.isAmbiguous(path), true, path);
  }
});

t.test(
  'an empty segment, or one that is empty once its ; parameter is cut, where a route reads one is ambiguous; elsewhere, and one trailing slash, are not',
  async (t) => {
    for (const path of [
      '/v1//repositories/sensors/q',
      '/v1/repositories//sensors',
      '/v1/repositories/sensors//stream',
      '/v1/repositories/sensors/stream//',
      '//',
      '/v1/repositories/sensors/;v=1/stream',
      '/v1/repositories/sensors/stream/;x',
      '/v1/repositories/sensors/%20/stream',
      '/v1/repositories/sensors/events///',
      '/v1/repositories/sensors/x//y',
    ]) {
      t.equal(table.isAmbiguous(path), true, path);
    }
    for (const path of ['/', '/health/', '/v1/repositories/sensors/stream/', '/v1/repositories/sensors/x/y//z', '/v1/repositories/sensors/x/y//']) {
      t.equal(table.isAmbiguous(path), false, path);
    }
  },
);

t.test('paths spelled as the routes write them, and segments where no literal stands, are not ambiguous', async (t) => {
  for (const path of [
    '/v1/repositories/sensors/stream',
    '/v1/repositories/sensors/stream?X=%41',
    '/v1/repositories/sensors/Query',
    '/v1/repositories/Sensors/Data',
    '/v1/repositories/sensors/x/STREAM',
    '/v1/repositories/sensors/a;b',
    '/v1/repositories/sensors/streams',
  ]) {
    t.equal(table.isAmbiguous(path), false, path);
  }
});

t.test('a literal written with capitals is matched as written and ambiguous in any other case', async (t) => {
  const custom = new RouteTable([{ path: '/API/:repository/**' }]);
  t.equal(custom.isAmbiguous('/API/sensors/x'), false);
  t.equal(custom.isAmbiguous('/api/sensors/x'), true);
  t.equal(custom.isAmbiguous('/%41PI/sensors/x'), true);
});

t.test('the canonical form decodes, folds width and case both ways, cuts ; parameters and trims', async (t) => {
  t.same(
    ['%73tream', 'STREAM', 'stream;v=1', 'stream%3Bv', ' stream. ', '\uFF53tream', '\u017Ftream', '\u0131nfo', '\u0130nfo', '\u212Aey'].map(canonicalSegment),
    ['stream', 'stream', 'stream', 'stream', 'stream', 'stream', 'stream', 'info', 'info', 'key'],
  );
});
