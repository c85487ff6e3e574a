// What `npm run build` does after tsc: copies the admin page's static files next to the built
// server, marks the CLI executable, and links it as node_modules/.bin/tollgate.
//
// Why the link and no `bin` field: npm exec (npx) runs a bin it finds in node_modules/.bin
// directly, on the PATH npm sets up (the pinned Node first). A package whose own package.json
// names the bin is instead installed into npx's cache under ~/.npm/_npx/ on its first run; a run
// before the build, or two runs at once, left a broken cache entry there for good
// ("tollgate: not found", or ENOENT on its package.json).
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';

cpSync('src/admin/ui', 'dist/admin/ui', { recursive: true });
chmodSync('dist/main.js', 0o755);
if (existsSync('node_modules')) {
  mkdirSync('node_modules/.bin', { recursive: true });
  rmSync('node_modules/.bin/tollgate', { force: true });
  symlinkSync('../../dist/main.js', 'node_modules/.bin/tollgate');
}
