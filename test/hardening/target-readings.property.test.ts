import fc from 'fast-check';
import t, { type Test } from 'tap';
import { RouteTable } from '../../src/auth/routes.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { validate } from '../../src/config/load.js';
import type { RouteConfig } from '../../src/config/schema.js';
import { checkTarget } from '../../src/http/paths.js';
import { NAME_PATTERN } from '../../src/tokens/record.js';
import { CADDY, missing, NGINX, startCaddy, startNginx } from '../helpers/front-proxy.js';
import { freePort } from '../helpers/ports.js';
import { rawRequest } from '../helpers/raw-http.js';

// One target grammar, one reading. For every target Tollgate lets through its target check and
// routes, each way a real upstream reads a target must land on the same route and repository:
// what is authorized is what is served. The readings are written from the servers' documented
// behaviour, independently of Tollgate's own code (their route matcher is a second one, here),
// and the real nginx and Caddy binaries read a sample of the same targets.

const ROUTES = validate(structuredClone(DEFAULTS)).routes;
// Routes an operator might write: literals with capitals, a literal after :repository beside a
// catch-all, a catch-all that names no repository.
const OTHER_ROUTES = validate({
  ...structuredClone(DEFAULTS),
  routes: [
    { path: '/API/:repository/Items' },
    { path: '/API/:repository/**' },
    { path: '/v2/repositories/:repository/stream' },
    { path: '/v2/**', repositoryHeader: 'x-repository' },
  ],
}).routes;
const tables = new Map([ROUTES, OTHER_ROUTES].map((routes) => [routes, new RouteTable(routes)]));

/** Where a request lands: the route's pattern and the repository it names, or nowhere. */
type Landing = { route: string; repository: string | undefined } | 'no route' | 'refused';

/** Tollgate's own reading, in the decision step's order: target check, ambiguity, first match. */
function tollgate(target: string, routes = ROUTES): Landing {
  const table = tables.get(routes)!;
  const path = checkTarget(target);
  if (path === undefined || table.isAmbiguous(path)) return 'refused';
  const match = table.match(path);
  return match === undefined ? 'no route' : { route: match.route.path, repository: match.repository };
}

/** A second route matcher, over already-split segments, with the literal comparison a server uses. */
function land(
  routes: readonly RouteConfig[],
  segments: readonly string[],
  equal: (segment: string, literal: string) => boolean,
  name: (segment: string) => string = (s) => s,
): Landing {
  // One trailing slash is the route's own path (every router here accepts it).
  const parts = segments.length > 1 && segments[segments.length - 1] === '' ? segments.slice(0, -1) : segments;
  for (const route of routes) {
    const pattern = route.path.split('/').slice(1);
    let repository: string | undefined;
    let matched = true;
    let i = 0;
    for (; i < pattern.length; i++) {
      const want = pattern[i]!;
      if (want === '**') break;
      const got = parts[i];
      if (got === undefined) {
        matched = false;
        break;
      }
      if (want === ':repository') {
        if (!NAME_PATTERN.test(name(got))) {
          matched = false;
          break;
        }
        repository = name(got);
      } else if (!equal(got, want)) {
        matched = false;
        break;
      }
    }
    if (matched && (i < pattern.length || parts.length === pattern.length)) return { route: route.path, repository };
  }
  return 'no route';
}

const exact = (a: string, b: string) => a === b;
/** Java's equalsIgnoreCase (Spring, Tomcat, JAX-RS with case-insensitive matching): per character, upper then lower. */
const ignoreCase = (a: string, b: string) =>
  a.length === b.length && [...a].every((c, i) => c === b[i] || c.toUpperCase() === b[i]!.toUpperCase() || c.toLowerCase() === b[i]!.toLowerCase());

/** Percent-decodes every byte as UTF-8, the way nginx and Tomcat hand a path to their routers. */
const decode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};

/** RFC 3986 §5.2.4 on decoded segments: `.` dropped, `..` removes the one before. */
function removeDots(segments: readonly string[]): string[] {
  const out: string[] = [];
  segments.forEach((segment, i) => {
    const isLast = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..' && out.length > 0) out.pop();
      if (isLast) out.push('');
    } else {
      out.push(segment);
    }
  });
  return out;
}

const pathOf = (target: string) => target.split(/[?#]/, 1)[0]!;

const READINGS: Record<string, (target: string, routes: readonly RouteConfig[]) => Landing> = {
  // WHATWG URL (Node's own parser; browsers, undici, Deno, many JS routers): the fragment goes
  // first, then dot segments (also %2e) are resolved; the path stays percent-encoded.
  whatwg: (target, routes) => land(routes, new URL(target, 'http://upstream').pathname.slice(1).split('/'), exact),
  // nginx's $uri: path up to `?` or `#`, every %XX decoded, slashes merged, dot segments resolved.
  nginx: (target, routes) => {
    const decoded = decode(pathOf(target));
    if (decoded === undefined) return 'refused';
    return land(
      routes,
      removeDots(
        decoded
          .slice(1)
          .split('/')
          .filter((s, i, all) => s !== '' || i === all.length - 1),
      ),
      exact,
    );
  },
  // Tomcat and Spring: `;` parameters stripped from each segment before decoding, then decoded,
  // `//` merged and dot segments resolved.
  tomcat: (target, routes) => {
    const segments = pathOf(target)
      .slice(1)
      .split('/')
      .map((s) => decode(s.split(';', 1)[0]!));
    if (segments.some((s) => s === undefined)) return 'refused';
    return land(routes, removeDots((segments as string[]).filter((s, i, all) => s !== '' || i === all.length - 1)), exact);
  },
  // A case-insensitive router over decoded, NFKC-normalized segments (IIS, Spring with
  // case-insensitive matching, Windows file servers); repository names read in lower case.
  'case-folding': (target, routes) => {
    const decoded = decode(pathOf(target));
    if (decoded === undefined) return 'refused';
    const segments = removeDots(
      decoded
        .normalize('NFKC')
        .slice(1)
        .split('/')
        .filter((s, i, all) => s !== '' || i === all.length - 1),
    );
    return land(routes, segments, ignoreCase, (s) => s.toLowerCase());
  },
};

// Targets from the alphabet that has broken path checks before: dots in every spelling,
// fragments, parameters, case, encoded unreserved characters, stray `%`, query marks, and
// characters that case-fold or NFKC-fold onto ASCII.
const PIECES = [
  '/',
  '//',
  '.',
  '..',
  '%2e',
  '%2E',
  '#',
  '#x',
  ';',
  ';v=1',
  '%3b',
  '%3B',
  '?',
  '?x=1',
  '%',
  '%7',
  '&',
  '=',
  'stream',
  'STREAM',
  'Stream',
  '%73',
  '%73tream',
  'tre',
  '%61',
  'am',
  'events',
  'EVENTS',
  '%65vents',
  'query',
  'x',
  'sensors',
  'Sensors',
  'billing',
  'health',
  'HEALTH',
  'v1',
  'V1',
  'repositories',
  '%72epositories',
  '%C5%BF',
  '%C4%B1',
  '%EF%BD%93',
  '%E2%84%AA',
  '%20',
  '~',
  '-',
  '_',
  '%5F',
  '%2f',
  'a.b',
];
const HEADS = ['/v1/repositories/sensors/', '/v1/repositories/sensors', '/v1/repositories/', '/v1/', '/', '/health'];
const targetFrom = (heads: string[], pieces: string[]) =>
  fc.tuple(fc.constantFrom(...heads), fc.array(fc.constantFrom(...pieces), { maxLength: 6 })).map(([head, rest]) => head + rest.join(''));
const target = targetFrom(HEADS, PIECES);
const otherTarget = targetFrom(
  ['/API/sensors/', '/API/', '/api/sensors/', '/v2/repositories/sensors/', '/v2/', '/'],
  [...PIECES, 'Items', 'items', 'ITEMS', '%49tems', 'API', 'api', '%41PI', 'v2'],
);

/** Tollgate's landing for targets it routes; undefined for those it refuses or routes nowhere. */
function routed(text: string, routes = ROUTES): { route: string; repository: string | undefined } | undefined {
  const landing = tollgate(text, routes);
  return typeof landing === 'string' ? undefined : landing;
}

for (const [name, read] of Object.entries(READINGS)) {
  for (const [routes, targets, which] of [
    [ROUTES, target, 'the default routes'],
    [OTHER_ROUTES, otherTarget, 'routes with capital literals'],
  ] as const) {
    t.test(`with ${which}, every target Tollgate routes lands on the same route and repository when read as ${name} does`, async (t) => {
      let routedCount = 0;
      fc.assert(
        fc.property(targets, (text) => {
          const ours = routed(text, routes);
          if (ours === undefined) return true;
          routedCount++;
          const theirs = read(text, routes);
          // A reading that refuses the target is safe; one that routes it must agree.
          if (theirs === 'refused') return true;
          return typeof theirs !== 'string' && theirs.route === ours.route && theirs.repository === ours.repository;
        }),
        { numRuns: 5000 },
      );
      t.ok(routedCount > 500, `enough targets were routed to compare (${routedCount})`);
    });
  }
}

t.test('the reported targets are refused before any route is matched', async (t) => {
  for (const text of [
    '/v1/repositories/sensors/..#x',
    '/v1/repositories/sensors/STREAM',
    '/v1/repositories/sensors/%73tream',
    '/v1/repositories/sensors/stream;v=1',
    '/v1/repositories/sensors/stream#',
  ]) {
    t.equal(tollgate(text), 'refused', text);
  }
});

/** Asks a real server where it routes a target: its answer body is `<route> <repository or ->`. */
async function ask(port: number, text: string): Promise<Landing> {
  const res = await rawRequest(port, `GET ${text} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  if (res.status === 404) return 'no route';
  if (res.status !== 200) return 'refused';
  const [route, repository] = res.text.slice(res.text.indexOf('\r\n\r\n') + 4).split(' ') as [string, string];
  return { route, repository: repository === '-' ? undefined : repository.toLowerCase() };
}

/** Sends a sample of the targets Tollgate routes to a real server; each must land where Tollgate's did, or be refused. */
async function compareSample(t: Test, port: number): Promise<void> {
  const sample = fc.sample(
    target.filter((text) => routed(text) !== undefined),
    { numRuns: 300, seed: 28 },
  );
  for (const text of sample) {
    const theirs = await ask(port, text);
    if (theirs !== 'refused') t.same(theirs, routed(text), text);
  }
}

// The real nginx: its locations see $uri (decoded, merged, dots resolved). One server matches
// as written (`~`), one case-insensitively (`~*`); each answers with the route it chose.
const why = missing(NGINX, 'nginx-light');
if (why !== undefined) {
  t.skip(`nginx: ${why}`, () => {});
} else {
  const locations = (op: string) => `
    location ${op} "^/v1/repositories/([a-z0-9][a-z0-9._-]*)/stream/?$" { return 200 "/v1/repositories/:repository/stream $1"; }
    location ${op} "^/v1/repositories/([a-z0-9][a-z0-9._-]*)/events/?$" { return 200 "/v1/repositories/:repository/events $1"; }
    location ${op} "^/v1/repositories/([a-z0-9][a-z0-9._-]*)(/.*)?$" { return 200 "/v1/repositories/:repository/** $1"; }
    location ${op} "^/health/?$" { return 200 "/health -"; }
    location / { return 404 "no route"; }`;
  const folding = await freePort();
  const nginx = await startNginx(`server { listen 127.0.0.1:${folding}; ${locations('~*')} }`, locations('~'));
  t.teardown(() => nginx.stop());

  for (const [name, port] of [
    ['as written', nginx.port],
    ['case-insensitively', folding],
  ] as const) {
    t.test(`the real nginx, matching locations ${name}, lands every routed target where Tollgate did`, (t) => compareSample(t, port));
  }
}

// The real Caddy: its path matchers see the decoded, cleaned path; matched case-insensitively,
// as its `path` matcher does.
const noCaddy = missing(CADDY, 'caddy');
if (noCaddy !== undefined) {
  t.skip(`caddy: ${noCaddy}`, () => {});
} else {
  const caddy = await startCaddy(`
\t@stream path_regexp s (?i)^/v1/repositories/([a-z0-9][a-z0-9._-]*)/stream/?$
\t@events path_regexp e (?i)^/v1/repositories/([a-z0-9][a-z0-9._-]*)/events/?$
\t@rest path_regexp r (?i)^/v1/repositories/([a-z0-9][a-z0-9._-]*)(/.*)?$
\t@health path_regexp h (?i)^/health/?$
\troute {
\t\trespond @stream "/v1/repositories/:repository/stream {re.s.1}" 200
\t\trespond @events "/v1/repositories/:repository/events {re.e.1}" 200
\t\trespond @rest "/v1/repositories/:repository/** {re.r.1}" 200
\t\trespond @health "/health -" 200
\t\trespond "no route" 404
\t}`);
  t.teardown(() => caddy.stop());
  t.test('the real Caddy, matching paths case-insensitively, lands every routed target where Tollgate did', (t) => compareSample(t, caddy.port));
}
