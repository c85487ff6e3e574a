import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { headingAnchors, linksOf, readPage } from '../helpers/markdown.js';

// Every relative link and #anchor in README.md and docs/ resolves: the file exists, and the
// anchor is one GitHub makes from a heading of that page.
const root = fileURLToPath(new URL('../../', import.meta.url));

function pagesUnder(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return pagesUnder(path);
    return name.endsWith('.md') ? [path] : [];
  });
}
const pages = ['README.md', ...pagesUnder('docs')];

t.test('GitHub anchors: punctuation dropped, spaces to -, repeats numbered', async (t) => {
  const anchors = headingAnchors(
    '# Decision API: Tollgate behind nginx\n## `tokenIn` and `x-request-id`\n## TLS, HTTP/2 and gRPC\n## Notes\n## Notes\n```sh\n# not a heading\n```\n',
  );
  t.same([...anchors.keys()], ['decision-api-tollgate-behind-nginx', 'tokenin-and-x-request-id', 'tls-http2-and-grpc', 'notes', 'notes-1']);
});

t.test('every relative link and anchor in README.md and docs/ resolves', async (t) => {
  t.ok(pages.length > 10, `${pages.length} pages`);
  let checked = 0;
  for (const page of pages) {
    for (const { target, line } of linksOf(readPage(page))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const file = path === '' ? page : normalize(join(dirname(page), decodeURIComponent(path)));
      const where = `${page}:${line}: ${target}`;
      checked++;
      if (relative(root, join(root, file)).startsWith('..') || !existsSync(join(root, file))) {
        t.fail(`${where}: ${file} does not exist`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!file.endsWith('.md')) {
        t.fail(`${where}: an anchor into a file that is not a page`);
        continue;
      }
      t.ok(headingAnchors(readPage(file)).has(anchor), `${where}: #${anchor} is a heading of ${file}`);
    }
  }
  t.ok(checked > 100, `${checked} links checked`);
});

t.test('every page of docs/ is reachable from the index', async (t) => {
  const index = new Set(linksOf(readPage('docs/README.md')).map(({ target }) => normalize(join('docs', target.split('#')[0]!))));
  const reference = new Set(linksOf(readPage('docs/reference/README.md')).map(({ target }) => normalize(join('docs/reference', target.split('#')[0]!))));
  for (const page of pages.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md')) {
    const parent = dirname(page) === 'docs' ? index : dirname(page) === 'docs/reference' ? reference : index;
    t.ok(parent.has(page) || index.has(join(dirname(page), 'README.md')), `${page} is linked from its index`);
  }
});

t.test('each page starts with a title and a sentence saying what it is for', async (t) => {
  for (const page of pages) {
    const [title, blank, first] = readPage(page).split('\n');
    t.match(title, /^# \S/, `${page} starts with a title`);
    t.equal(blank, '', page);
    t.ok(first !== undefined && /^[A-Z<]/.test(first), `${page}: a sentence follows the title`);
  }
});

t.test('the README is a front page: short, with the two commands and a way into every page', async (t) => {
  const readme = readPage('README.md');
  t.ok(readme.split('\n').length < 300, 'a few hundred lines at most');
  t.match(readme, /^```sh\nnpm install && npm start\n```$/m, 'shows npm start');
  t.match(readme, /^```sh\nnpm test\n```$/m, 'shows npm test');
  const linked = new Set(linksOf(readme).map(({ target }) => target.split('#')[0]));
  for (const page of pages.filter((p) => p.startsWith('docs/') && !p.startsWith('docs/decision-api/') && p !== 'docs/reference/README.md')) {
    t.ok(linked.has(page), `README links ${page}`);
  }
});
