import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

// The layers of src/ only point down (docs/development.md, "Layers"): every import of every file,
// type-only and dynamic ones included, goes to its own folder or to a folder on a line below it;
// no circle of folders and no circle of files.
const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'src');

/** One import as written: the importing file and line (relative to the root) and the file it names. */
interface Import {
  readonly from: string;
  readonly line: number;
  readonly to: string;
}

/** Every module specifier of a source text, with its line: `import`, `import type`, `export … from`, `import()` and `import('…').T`. */
function specifiersOf(fileName: string, text: string): { specifier: string; line: number }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: { specifier: string; line: number }[] = [];
  const add = (literal: ts.Node) => {
    if (ts.isStringLiteralLike(literal)) found.push({ specifier: literal.text, line: source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0]) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return name.endsWith('.ts') ? [path] : [];
    });
}

/** Every relative import in src/, resolved to the file it loads (`.js` in a specifier is the `.ts` beside it). */
function importsOf(files: readonly string[]): { imports: Import[]; unresolved: string[] } {
  const imports: Import[] = [];
  const unresolved: string[] = [];
  for (const file of files) {
    for (const { specifier, line } of specifiersOf(file, readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
      const from = relative(root, file);
      if (!target.startsWith(`${src}/`)) continue;
      if (!existsSync(target)) unresolved.push(`${from}:${line} ${specifier}`);
      else imports.push({ from, line, to: relative(root, target) });
    }
  }
  return { imports, unresolved };
}

/** The layer a file belongs to: its folder under src/ (`auth/`), or the file itself at the top of src/ (`clock.ts`). */
function unitOf(path: string): string {
  const inSrc = relative('src', path);
  const slash = inSrc.indexOf('/');
  return slash < 0 ? inSrc : `${inSrc.slice(0, slash)}/`;
}

/**
 * The layer stack as docs/development.md draws it: the first fenced block under "## Layers", top
 * line first, names on one line side by side (peers, which may not import each other).
 */
function layerStack(): string[][] {
  const page = readFileSync(join(root, 'docs/development.md'), 'utf8');
  const section = page.split(/^## Layers$/m)[1];
  const block = section?.match(/^```[a-z]*\n([\s\S]*?)^```$/m)?.[1];
  if (block === undefined) throw new Error('docs/development.md has no fenced block under "## Layers"');
  return block
    .split('\n')
    .map((line) => line.trim().split(/\s+/).filter(Boolean))
    .filter((names) => names.length > 0)
    .reverse();
}

/** Strongly connected parts of more than one node (or a node importing itself): Tarjan's algorithm. */
function circles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
    }
    if (low.get(node) !== index.get(node)) return;
    const part: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      part.push(member);
    } while (member !== node);
    if (part.length > 1 || graph.get(node)?.has(node)) found.push(part.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);
  return found;
}

/** One circle through `start` inside `part`, shortest first (breadth-first), as its nodes in order. */
function circleThrough(start: string, part: ReadonlySet<string>, graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const to of [...(graph.get(node) ?? [])].sort()) {
      if (!part.has(to)) continue;
      if (to === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!cameFrom.has(to)) {
        cameFrom.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start];
}

function graphOf(edges: Iterable<readonly [string, string]>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [from, to] of edges) {
    if (!graph.has(from)) graph.set(from, new Set());
    if (!graph.has(to)) graph.set(to, new Set());
    graph.get(from)?.add(to);
  }
  return graph;
}

const files = sourceFiles(src);
const { imports, unresolved } = importsOf(files);
const where = (i: Import) => `${i.from}:${i.line} imports ${i.to}`;

t.test('the parser sees every kind of import, type-only and dynamic ones included', async (t) => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from './b.js';",
    "import { type C } from './c.js';",
    "export { d } from './d.js';",
    "export type { E } from './e.js';",
    "export * from './f.js';",
    "import './g.js';",
    "const h = await import('./h.js');",
    "let i: import('./i.js').I;",
    "// import { no } from './comment.js';",
    'const text = "import { no } from \'./string.js\'";',
  ].join('\n');
  t.same(
    specifiersOf('probe.ts', text).map(({ specifier, line }) => `${line} ${specifier}`),
    ['1 ./a.js', '2 ./b.js', '3 ./c.js', '4 ./d.js', '5 ./e.js', '6 ./f.js', '7 ./g.js', '8 ./h.js', '9 ./i.js'],
  );
});

t.test('every relative import in src/ resolves to a file of src/', async (t) => {
  t.ok(files.length > 100, `${files.length} files read`);
  t.ok(imports.length > files.length, `${imports.length} imports read`);
  t.same(unresolved, [], 'imports naming no file');
});

t.test('every folder and top-level file of src/ has one place in the layer stack', async (t) => {
  const placed = layerStack().flat();
  const units = [...new Set(files.map((file) => unitOf(relative(root, file))))].sort();
  t.same(
    units.filter((unit) => !placed.includes(unit)),
    [],
    'missing from the stack',
  );
  t.same(
    placed.filter((name) => !units.includes(name)),
    [],
    'in the stack but not in src/',
  );
  t.same(
    placed.filter((name, i) => placed.indexOf(name) !== i),
    [],
    'placed twice',
  );
});

t.test('no folder imports a folder on its own line or above it', async (t) => {
  const level = new Map(layerStack().flatMap((names, i) => names.map((name) => [name, i] as const)));
  const upward = imports
    .filter((i) => unitOf(i.from) !== unitOf(i.to))
    .filter((i) => (level.get(unitOf(i.from)) ?? -1) <= (level.get(unitOf(i.to)) ?? -1))
    .map((i) => `${where(i)} (${unitOf(i.from)} may import only folders on lines below it)`);
  t.same(upward, [], 'imports pointing up or sideways');
});

t.test('no circle of folders', async (t) => {
  const crossing = imports.filter((i) => unitOf(i.from) !== unitOf(i.to));
  const graph = graphOf(crossing.map((i) => [unitOf(i.from), unitOf(i.to)] as const));
  const found = circles(graph).map((part) => {
    const circle = circleThrough(part[0] as string, new Set(part), graph);
    // Each step of the circle with the first import that makes it.
    const steps = circle.slice(1).map((to, k) => {
      const witness = crossing.find((i) => unitOf(i.from) === circle[k] && unitOf(i.to) === to);
      return `  ${circle[k]} -> ${to}: ${witness ? where(witness) : '?'}`;
    });
    return `${part.join(' ')} form a circle, for one:\n${steps.join('\n')}`;
  });
  t.same(found, [], 'circles of folders');
});

t.test('no circle of files', async (t) => {
  const graph = graphOf(imports.map((i) => [i.from, i.to] as const));
  const found = circles(graph).map((part) => {
    const circle = circleThrough(part[0] as string, new Set(part), graph);
    const steps = circle.slice(1).map((to, k) => {
      const witness = imports.find((i) => i.from === circle[k] && i.to === to);
      return `  ${witness ? where(witness) : `${circle[k]} -> ${to}`}`;
    });
    return `${part.length} files import each other in a circle, for one:\n${steps.join('\n')}`;
  });
  t.same(found, [], 'circles of files');
});

t.test('the circle finder reports a circle of three and nothing for a chain', async (t) => {
  const graph = graphOf([
    ['a', 'b'],
    ['b', 'c'],
    ['c', 'a'],
    ['c', 'd'],
  ]);
  t.same(circles(graph), [['a', 'b', 'c']]);
  t.same(circleThrough('a', new Set(['a', 'b', 'c']), graph), ['a', 'b', 'c', 'a']);
  t.same(
    circles(
      graphOf([
        ['a', 'b'],
        ['b', 'c'],
      ]),
    ),
    [],
  );
});
