import { fileURLToPath } from 'node:url';
import { writeReferencePages } from './reference.js';

// `npm run docs`: writes docs/reference/ from the code (src/docs/reference.ts), then exits.
for (const path of writeReferencePages(fileURLToPath(new URL('../../', import.meta.url)))) process.stdout.write(`wrote ${path}\n`);
// The metrics registry watches the event loop; nothing else is left to wait for.
process.exit(0);
