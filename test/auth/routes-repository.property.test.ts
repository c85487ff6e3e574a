import fc from 'fast-check';
import t from 'tap';
import { RouteTable } from '../../src/auth/routes.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { validate } from '../../src/config/load.js';
import { NAME_PATTERN } from '../../src/tokens/record.js';

// The route matcher reads `:repository` on the path's characters in place; a segment is a
// repository exactly when NAME_PATTERN says it is a name.

const table = new RouteTable(validate(structuredClone(DEFAULTS)).routes);

/** Segments near the pattern's edges: its characters and their neighbours, up to past 63. */
const nameChars = fc.constantFrom('a', 'z', '0', '9', '.', '_', '-');
const segment = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,70}$/),
  fc.tuple(fc.constantFrom('a', '0', '.'), fc.string({ unit: nameChars, minLength: 60, maxLength: 66 })).map(([first, rest]) => first + rest),
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', '9', '.', '_', '-', '~', '%', ':', '@', '`', '{', '/', '?', 'é'), maxLength: 66 }),
);

t.test(':repository matches exactly the segments NAME_PATTERN accepts', async (t) => {
  let names = 0;
  fc.assert(
    fc.property(segment, fc.constantFrom('/query', '/stream', '', '/'), (text, rest) => {
      if (text.includes('/') || text.includes('?')) return;
      const match = table.match(`/v1/repositories/${text}${rest}`);
      const isName = NAME_PATTERN.test(text);
      if (isName) names++;
      if (isName !== (match !== undefined)) throw new Error(`${JSON.stringify(text)}: name ${isName}, matched ${match !== undefined}`);
      if (isName && match!.repository !== text) throw new Error(`${JSON.stringify(text)} matched as ${match!.repository}`);
    }),
    { numRuns: 3000 },
  );
  t.ok(names > 500, `${names} generated segments were names`);
});
