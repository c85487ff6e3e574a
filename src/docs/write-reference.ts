import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referencePages } from './reference.js';

// `npm run docs`: writes docs/reference/ from the code (src/docs/reference.ts), then exits.
const root = new URL('../../', import.meta.url);
for (const [path, text] of Object.entries(referencePages())) {
  const file = fileURLToPath(new URL(path, root));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(`wrote ${path}\n`);
}
// The metrics registry watches the event loop; nothing else is left to wait for.
process.exit(0);
