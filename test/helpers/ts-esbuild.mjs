// Loads the tests' TypeScript in the test process itself, in place of ts-node (.taprc turns
// ts-node off with type-strip-only and puts this file among the test processes' --import hooks).
//
// src/ is run from dist/, the build `npm test` makes first (tsc, with source maps): the same code
// and the same source maps as the CLI the e2e tests spawn, so coverage from both lands on the same
// functions of src/ (two transforms of one file map a function to different columns, and the
// report would count it twice), and no test process transpiles src/ again: a test file that
// starts the app spent about 5 s of CPU in ts-node before its first test. When a file of src/ is
// newer than dist/ (edited since the last build), src/ is transformed here instead, by esbuild.
//
// The tests themselves go through esbuild's transform: types stripped file by file, not checked
// (`npm run typecheck` does that), about a fifth of ts-node's CPU. Imports are written as the
// compiled files are named (`./helpers/cli.js`): a relative `.js` that does not exist beside its
// importer resolves to the `.ts` that does. Outputs carry inline source maps.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

const root = new URL('../../', import.meta.url);
const srcDir = new URL('src/', root).href;
const distDir = new URL('dist/', root).href;

/** dist/ is current when it exists and no file of src/ was written after its entry point. */
function distIsCurrent() {
  const built = new URL('dist/main.js', root);
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  const src = fileURLToPath(srcDir);
  return readdirSync(src, { recursive: true }).every((name) => statSync(join(src, name)).mtimeMs <= builtAt);
}
const fromDist = distIsCurrent();

// What tsconfig.json sets that changes emitted code: ES2022 class fields are defined, not assigned.
const tsconfigRaw = { compilerOptions: { target: 'ES2022', useDefineForClassFields: true } };
const ours = (url) => url.startsWith('file:') && !url.includes('/node_modules/');

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.endsWith('.js') && specifier.startsWith('.') && context.parentURL && ours(context.parentURL)) {
      const js = new URL(specifier, context.parentURL);
      if (fromDist && js.href.startsWith(srcDir)) return nextResolve(distDir + js.href.slice(srcDir.length), context);
      const ts = new URL(`${js.href.slice(0, -3)}.ts`);
      if (!existsSync(js) && existsSync(ts)) return nextResolve(ts.href, context);
    }
    return nextResolve(specifier, context);
  },
  load(url, context, nextLoad) {
    if (ours(url) && /\.m?ts$/.test(new URL(url).pathname)) {
      const path = fileURLToPath(url);
      const { code } = transformSync(readFileSync(path, 'utf8'), {
        loader: 'ts',
        format: 'esm',
        target: 'es2022',
        sourcemap: 'inline',
        sourcefile: path,
        tsconfigRaw,
      });
      return { format: 'module', source: code, shortCircuit: true };
    }
    return nextLoad(url, context);
  },
});
