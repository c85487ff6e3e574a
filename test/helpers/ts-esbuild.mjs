// Loads the tests' TypeScript (and the src/ it imports) through esbuild's transform in the test
// process itself, in place of ts-node. Both only strip types, file by file (no type checking:
// `npm run typecheck` does that); esbuild does it in about a fifth of the CPU, which is most of
// what a test file that starts the whole app cost before it ran a test. .taprc turns ts-node off
// (type-strip-only) and puts this file first among the test processes' --import hooks.
//
// Imports are written as the compiled files will be named (`../src/app.js`): a relative `.js`
// that does not exist beside its importer resolves to the `.ts` that does. Every output carries
// an inline source map, so stack traces and coverage name the .ts lines.
import { existsSync, readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

// What tsconfig.json sets that changes emitted code: ES2022 class fields are defined, not assigned.
const tsconfigRaw = { compilerOptions: { target: 'ES2022', useDefineForClassFields: true } };
const ours = (url) => url.startsWith('file:') && !url.includes('/node_modules/');

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.endsWith('.js') && specifier.startsWith('.') && context.parentURL && ours(context.parentURL)) {
      const js = new URL(specifier, context.parentURL);
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
