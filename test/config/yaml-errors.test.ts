import t from 'tap';
import { yamlFaults } from '../../src/config/load.js';
import { faultsOf, fromYaml } from '../helpers/config.js';

// A YAML syntax error names the file, line and column, says what is wrong, and shows the line.

t.test('a nested mapping in a compact one: the line, the reason and a caret under the column', async (t) => {
  const faults = faultsOf(() => fromYaml(t, 'cache:\n  ttl: a: b\n'));
  t.equal(faults.length, 1, 'one fault');
  const [head, excerpt, caret] = faults[0]!.split('\n');
  t.match(head, /tollgate\.yaml:2:8: not valid YAML: Nested mappings are not allowed in compact mappings$/);
  t.equal(excerpt, '  2 |   ttl: a: b');
  t.equal(caret, `  ${' '.repeat('2 | '.length + 7)}^`, 'the caret sits under column 8');
  t.notMatch(faults.join('\n'), /at line \d+, column \d+/, "the library's own location text is not repeated");
});

t.test('an unclosed flow sequence names where it was found', async (t) => {
  const faults = faultsOf(() => fromYaml(t, 'proxy:\n  listen: [a, b\nlog: { level: info }\n'));
  t.match(faults[0], /tollgate\.yaml:\d+:\d+: not valid YAML: \S/);
  t.equal(faults[0]!.split('\n').length, 3, 'the line and a caret under it');
});

t.test('an error without a position still says what is wrong, in one line', async (t) => {
  t.same(yamlFaults('x.yaml', 'a', new Error('bad thing at line 1, column 1:\n\na\n^')), ['x.yaml: not valid YAML: bad thing']);
});

t.test('a key holding a dot is named quoted and still refused as a ConfigError, not a crash in finding its line', async (t) => {
  // Found by the config-loader property test: `.:` made the line finder split `"."` on its dot.
  t.same(
    faultsOf(() => fromYaml(t, '.:\n')),
    ['".": unknown key'],
  );
  t.same(
    faultsOf(() => fromYaml(t, 'cache:\n  "a.b": 1\n')),
    ['cache."a.b": unknown key'],
  );
});
