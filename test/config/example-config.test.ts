import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DEFAULTS } from '../../src/config/defaults.js';
import { loadConfig, validate } from '../../src/config/load.js';

t.test('config/tollgate.yaml is valid and equals the built-in defaults', async (t) => {
  const path = fileURLToPath(new URL('../../config/tollgate.yaml', import.meta.url));
  t.same(loadConfig({ path, required: true, env: {} }), validate(structuredClone(DEFAULTS)));
});
