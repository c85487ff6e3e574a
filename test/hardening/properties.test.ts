import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { stringify as toYaml } from 'yaml';
import { RouteTable } from '../../src/auth/routes.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { ConfigError, loadConfig, validate } from '../../src/config/load.js';
import { checkTarget } from '../../src/http/paths.js';
import { BASE62_DIGITS } from '../../src/tokens/base62.js';
import { NAME_PATTERN } from '../../src/tokens/record.js';
import { generateSecret, parseSecret, SECRET_LENGTH } from '../../src/tokens/secret.js';

const BASE62 = BASE62_DIGITS;
const runs = { numRuns: 2000 };

t.test('token parser: never throws, and refuses every string that is not a generated secret', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => parseSecret(text) === undefined),
    runs,
  );
  fc.assert(
    // Right shape, random checksum: refused (a random pass would be a 1 in 2^32 event).
    fc.property(fc.constantFrom('tgr_', 'tgp_'), fc.stringMatching(/^[0-9A-Za-z]{49}$/), (head, body) => parseSecret(head + body) === undefined),
    { numRuns: 500 },
  );
  t.pass('random strings and random well-shaped strings are refused');
});

t.test('token parser: accepts every generated secret, and no single-character change of one', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom('repository' as const, 'personal' as const), fc.nat(SECRET_LENGTH - 1), fc.nat(61), (kind, at, pick) => {
      const secret = generateSecret(kind);
      if (parseSecret(secret) !== kind) return false;
      const replacement = BASE62[pick] === secret[at] ? BASE62[(pick + 1) % 62]! : BASE62[pick]!;
      return parseSecret(secret.slice(0, at) + replacement + secret.slice(at + 1)) === undefined;
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

// Paths built from pieces chosen to be troublesome: dots in every spelling, encoded separators,
// backslashes, NUL, double encoding, overlong UTF-8, plus ordinary names.
const piece = fc.constantFrom(
  'v1',
  'repositories',
  'sensors',
  'billing',
  'query',
  'stream',
  'a.b',
  '..',
  '.',
  '%2e',
  '%2E%2e',
  '.%2e',
  '%2f',
  '%2F',
  '%5c',
  '\\',
  '%00',
  '%252e',
  '%C0%AE',
  '%E0%80%AE',
  'caf%C3%A9',
  '%20',
  ';',
  '?x=1',
  '#f',
  '',
  '~',
  'Sensors',
);
const path = fc.array(piece, { minLength: 1, maxLength: 8 }).map((parts) => `/${parts.join('/')}`);
const routes = new RouteTable(validate(structuredClone(DEFAULTS)).routes);

t.test('path check: an accepted target is forwarded byte for byte', async (t) => {
  fc.assert(
    fc.property(path, (target) => {
      const checked = checkTarget(target);
      return checked === undefined || checked === target;
    }),
    runs,
  );
  t.pass();
});

t.test('path check + routes: a request authorized for one repository never reaches another, however the upstream decodes', async (t) => {
  fc.assert(
    fc.property(path, (target) => {
      const checked = checkTarget(target);
      if (checked === undefined) return true;
      const match = routes.match(checked);
      if (match?.repository === undefined) return true;
      // What a normalizing upstream would see: dot segments resolved, then percent-decoding.
      const normalized = decodeURIComponent(new URL(checked, 'http://upstream').pathname);
      const prefix = `/v1/repositories/${match.repository}`;
      return normalized === prefix || normalized.startsWith(`${prefix}/`);
    }),
    runs,
  );
  t.pass();
});

t.test('route matcher: never throws, and a captured repository is always a valid name', async (t) => {
  fc.assert(
    fc.property(
      fc.oneof(
        path,
        fc.string({ unit: 'binary', maxLength: 60 }).map((s) => `/${s}`),
      ),
      (target) => {
        const match = routes.match(target);
        return match?.repository === undefined || NAME_PATTERN.test(match.repository);
      },
    ),
    runs,
  );
  t.pass();
});

t.test('config loader: any YAML document gives a config or a ConfigError naming a key, never another exception', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'tollgate.yaml');
  const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('30s', '0.0.0.0:80', 'redis', 'http://x'));
  const tree = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(tie('node'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('proxy', 'cache', 'store', 'listen', 'ttl', 'redis', 'routes', 'path', 'x'), tie('node'), { maxKeys: 4 }),
    ),
  })).node;
  fc.assert(
    fc.property(
      fc.oneof(
        tree.map((value) => toYaml(value)),
        fc.string({ maxLength: 80 }),
      ),
      (text) => {
        writeFileSync(file, text);
        try {
          loadConfig({ path: file, required: true, env: {} });
          return true;
        } catch (err) {
          return err instanceof ConfigError && err.faults.length > 0 && err.faults.every((fault) => fault.lastIndexOf(': ') > 0);
        }
      },
    ),
    { numRuns: 1000 },
  );
  t.pass();
});

// Upstreams that read more into a path than RFC 3986 does: Tomcat and Spring strip `;` path
// parameters per segment, Java and Python trim whitespace, some servers NFKC-normalize after
// decoding (U+FF0E `．` and U+2024 `․` become `.`, U+2025 `‥` becomes `..`, U+FF0F `／` becomes `/`).
// The atoms: every character whose NFKC form holds a dot, a separator, `;`, `?`, `#`, `%` or
// whitespace, percent-encoded as UTF-8, plus the ASCII troublemakers raw and encoded.
const utf8Encoded = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
const foldingCharacters: string[] = [];
for (let cp = 0x80; cp < 0x30000; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const text = String.fromCodePoint(cp);
  const folded = text.normalize('NFKC');
  if (folded !== text && (/[./\\;?#%]/.test(folded) || folded.trim() !== folded)) foldingCharacters.push(text);
}
const atom = fc.oneof(
  fc.constantFrom('.', '.', '%2e', '%2E', ';', '%3b', '%3B', '%20', '%09', '%0d', ' ', 'x', 'v=1'),
  fc.constantFrom(...foldingCharacters).chain((c) => fc.constantFrom(utf8Encoded(c), c, Buffer.from(c, 'utf8').toString('latin1'))),
);
const foldingPiece = fc.oneof(
  fc.array(atom, { minLength: 1, maxLength: 4 }).map((atoms) => atoms.join('')),
  fc.constantFrom('sensors', 'billing', 'q', '..;', '..%20'),
);
const foldingPath = fc
  .tuple(fc.constantFrom('sensors', 'billing'), fc.array(foldingPiece, { minLength: 1, maxLength: 5 }))
  .map(([repository, parts]) => `/v1/repositories/${repository}/${parts.join('/')}`);

/** The path as one kind of upstream reads it: decoded, optionally NFKC-folded, params stripped, trimmed, dot segments resolved. */
function upstreamView(target: string, fold: boolean, stripParams: boolean, trim: boolean): string {
  const bytes: number[] = [];
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 37 && /^[0-9a-f]{2}$/i.test(target.slice(i + 1, i + 3))) {
      bytes.push(parseInt(target.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x100) bytes.push(c);
    else bytes.push(...Buffer.from(String.fromCharCode(c), 'utf8'));
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    text = Buffer.from(bytes).toString('latin1');
  }
  if (fold) text = text.normalize('NFKC');
  text = text.split(/[?#]/)[0]!;
  const out: string[] = [];
  for (let segment of text.split(/[/\\]/).slice(1)) {
    if (stripParams && segment.includes(';')) segment = segment.slice(0, segment.indexOf(';'));
    if (trim) segment = segment.replace(/^[\s\x00-\x20]+|[\s\x00-\x20]+$/g, '');
    if (segment === '..') out.pop();
    else if (segment !== '.') out.push(segment);
  }
  return `/${out.join('/')}`;
}

t.test('path check: an accepted path stays in its repository for upstreams that strip ;params, trim, or NFKC-normalize', async (t) => {
  fc.assert(
    fc.property(foldingPath, (target) => {
      const checked = checkTarget(target);
      if (checked === undefined) return true;
      const repository = routes.match(checked)?.repository;
      if (repository === undefined) return true;
      const prefix = `/v1/repositories/${repository}`;
      for (const fold of [false, true]) {
        for (const stripParams of [false, true]) {
          for (const trim of [false, true]) {
            const view = upstreamView(checked, fold, stripParams, trim);
            if (view !== prefix && !view.startsWith(`${prefix}/`)) return false;
          }
        }
      }
      return true;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});
