import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { routes } from '../../src/admin/routes.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { envName } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { referencePages, writeReferencePages } from '../../src/docs/reference.js';
import { PROBLEMS } from '../../src/http/problems.js';

// The pages of docs/reference/ are made from the code; a page that differs from what the
// generator makes now is stale (a key, metric, route or problem added without `npm run docs`).
const pages = referencePages();
const root = new URL('../../', import.meta.url);

t.test('every committed reference page is what npm run docs makes from the code now', async (t) => {
  for (const [path, text] of Object.entries(pages)) {
    let committed = '';
    try {
      committed = readFileSync(new URL(path, root), 'utf8');
    } catch {
      // reported below as a difference
    }
    if (committed === text) t.pass(`${path} is current`);
    else t.fail(committed === '' ? `${path} is missing: run npm run docs` : `${path} is stale: run npm run docs`);
  }
});

t.test('the configuration reference names every key of the defaults with its variable', async (t) => {
  const leaves = (tree: Record<string, unknown>, prefix: string[] = []): string[][] =>
    Object.entries(tree).flatMap(([key, value]) =>
      typeof value === 'object' && value !== null && !Array.isArray(value) ? leaves(value as Record<string, unknown>, [...prefix, key]) : [[...prefix, key]],
    );
  const page = pages['docs/reference/config.md']!;
  for (const path of leaves(DEFAULTS)) t.match(page, `| \`${path.join('.')}\` |`, path.join('.'));
  for (const path of leaves(DEFAULTS)) t.match(page, `\`${envName(path)}\``, envName(path));
  t.match(
    page,
    '| `cache.lastUsedInterval` | `60s` | a duration from 1s to 1h | `TOLLGATE_CACHE_LAST_USED_INTERVAL` |',
    'default, range and variable come from the schema',
  );
  t.equal(Object.keys(configSchema.shape).length, Object.keys(DEFAULTS).length, 'the schema and the defaults have the same sections');
});

t.test('the metrics reference lists each metric with its type, unit and labels', async (t) => {
  const page = pages['docs/reference/metrics.md']!;
  t.match(page, '| `tollgate_requests_total` | counter |  | `right`, `outcome`, `credential` |');
  t.match(page, '| `tollgate_request_duration_seconds` | histogram | seconds | `right` |');
  t.match(page, '| `tollgate_tls_certificate_expiry_timestamp_seconds` | gauge | seconds since the epoch |');
  t.notMatch(page, /\| `(process|nodejs)_/, "Node's own metrics are named, not listed");
});

t.test('the admin API reference has a heading for every route the server documents', async (t) => {
  const page = pages['docs/reference/admin-api.md']!;
  for (const route of routes().filter((r) => !r.doc.isPage)) t.match(page, `\n## ${route.method} ${route.path}\n`, `${route.method} ${route.path}`);
  t.match(page, '\n### CreateTokenInput\n', 'and the schemas they use');
});

t.test('the problem types reference lists every problem of the registry', async (t) => {
  const page = pages['docs/reference/problems.md']!;
  for (const problem of Object.values(PROBLEMS)) t.match(page, `| \`${problem.type}\` | ${problem.status} | ${problem.title} |`, problem.type);
});

t.test('npm run docs writes each page where the test reads it', async (t) => {
  const dir = t.testdir({});
  const written = writeReferencePages(dir);
  t.same(written, Object.keys(pages));
  for (const path of written) t.equal(readFileSync(join(dir, path), 'utf8'), pages[path], path);
});
