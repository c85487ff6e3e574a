import { createRequire } from 'node:module';
import t from 'tap';
import { LLHTTP_MODULES } from '../../src/http1/codec.js';

// The HTTP/1 codec loads llhttp's WebAssembly build from inside the pinned undici package: an
// undici upgrade that moves or drops it must fail here, not in production.
t.test('llhttp builds are where the codec loads them from, and compile', async (t) => {
  const require = createRequire(import.meta.url);
  for (const path of LLHTTP_MODULES) {
    const bytes = require(path) as Uint8Array<ArrayBuffer>;
    t.ok(bytes.length > 10_000, `${path} holds a module`);
    const names = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
    for (const name of ['llhttp_alloc', 'llhttp_execute', 'llhttp_get_method', 'llhttp_resume_after_upgrade'])
      t.ok(names.includes(name), `${path} exports ${name}`);
  }
});
