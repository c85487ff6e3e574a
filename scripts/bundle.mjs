// What `npm run build` does last: bundles the built CLI (dist/main.js and what it imports,
// node_modules included) into dist/bundle/, minified and split at each dynamic import(), so a
// role or command still loads only its own chunks. The container image runs dist/bundle/main.js.
//
// Why: the proxy role from ~450 module files holds more than it needs: every module's source
// text and records, and more of Node's binary paged in by the module loader. The same process
// from the bundle idles ~9 MiB lower (5 of them file-backed) and takes ~80 ms less CPU to
// become ready (bench/RESULTS.md, "Footprint"). dist/main.js stays the unbundled CLI (tests,
// `npm start`, stack traces with file names); dist/bundle/*.js.map decode the bundle's stacks
// (node --enable-source-maps).
import { rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { build } from 'esbuild';

const outdir = resolve('dist/bundle');

/**
 * A module that finds files beside itself (the admin page, package.json, undici's llhttp file)
 * keeps finding them where they are: its `import.meta.url` becomes its own dist/ file's URL,
 * computed from the bundle's, so the bundle works wherever dist/ and node_modules are copied.
 */
const ownLocation = {
  name: 'own-location',
  setup(bundle) {
    bundle.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      const own = `new URL(${JSON.stringify(relative(outdir, path).replaceAll('\\', '/'))}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', own), loader: 'js' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true }); // no chunk of an earlier build left beside this one's
const { metafile } = await build({
  entryPoints: ['dist/main.js'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (ioredis, pino, prom-client) call require() for Node's own modules.
  banner: { js: "import { createRequire as __tollgateRequire } from 'node:module'; const require = __tollgateRequire(import.meta.url);" },
  plugins: [ownLocation],
  metafile: true,
});
// Which built files each chunk holds: test/e2e/bundle.test.ts checks what a proxy role loads.
writeFileSync('dist/bundle.meta.json', JSON.stringify(metafile));
