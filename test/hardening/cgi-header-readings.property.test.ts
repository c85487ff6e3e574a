import fc from 'fast-check';
import t from 'tap';
import { startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// CGI (RFC 3875 §4.1.18), and WSGI and PHP after it, read a request field as the variable
// HTTP_ + its name in upper case with `-` as `_`, so `x-repository`, `X_Repository` and
// `X-REPOSITORY` are one variable upstream. For any spelling and order of the repository field
// (and a Connection option naming it), a request Tollgate forwards must give a CGI upstream only
// the repository Tollgate authorized, and the field it judged.

const h = await startHarness({
  config: { routes: [{ path: '/v1/repositories/:repository/**' }, { path: '/ingest/**', repositoryHeader: 'x-repository' }] },
});
t.teardown(() => h.close());
const sensors = await h.token(['query']);
const everywhere = await h.token(['query'], '*');

/** The CGI environment an upstream builds from the fields it received: variable -> every value. */
function cgiEnvironment(rawHeaders: readonly string[]): Map<string, string[]> {
  const env = new Map<string, string[]>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const variable = `HTTP_${rawHeaders[i]!.toUpperCase().replace(/-/g, '_')}`;
    env.set(variable, [...(env.get(variable) ?? []), rawHeaders[i + 1]!]);
  }
  return env;
}

const SPELLINGS = [
  'x-repository',
  'X-Repository',
  'X-REPOSITORY',
  'X_Repository',
  'x_repository',
  'X_REPOSITORY',
  'x-tollgate-repository',
  'X_Tollgate_Repository',
];
const field = fc.tuple(fc.constantFrom(...SPELLINGS), fc.constantFrom('sensors', 'billing'));
const request = fc.record({
  fields: fc.array(field, { maxLength: 3 }),
  connection: fc.option(fc.constantFrom(...SPELLINGS), { nil: undefined }),
  secret: fc.constantFrom(sensors.secret, everywhere.secret),
});

t.test('a CGI upstream reads only the repository Tollgate authorized, whatever spellings came', async (t) => {
  let forwarded = 0;
  await fc.assert(
    fc.asyncProperty(request, async ({ fields, connection, secret }) => {
      h.upstream.received.length = 0;
      const lines = fields.map(([name, value]) => `${name}: ${value}\r\n`).join('');
      const res = await rawRequest(
        h.tollgate.proxyPort,
        `GET /ingest/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n${lines}Connection: close${connection ? `, ${connection}` : ''}\r\n\r\n`,
      );
      if (res.status !== 200) return h.upstream.received.length === 0;
      forwarded++;
      const env = cgiEnvironment(h.upstream.received[0]!.rawHeaders);
      const [authorized, ...others] = env.get('HTTP_X_TOLLGATE_REPOSITORY') ?? [];
      if (authorized === undefined || others.length > 0) return false;
      const read = env.get('HTTP_X_REPOSITORY') ?? [];
      // The field that was judged is the field forwarded: no Connection option took it away.
      if (fields.some(([name]) => name.toLowerCase() === 'x-repository') && read.length === 0) return false;
      return read.every((value) => value === authorized);
    }),
    { numRuns: 200 },
  );
  t.ok(forwarded > 20, `enough requests were forwarded to compare (${forwarded})`);
});
