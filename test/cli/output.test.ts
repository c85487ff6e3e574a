import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { parseArgs, UsageError } from '../../src/cli/args.js';
import { asYaml, emit, outputFrom, paintStatus } from '../../src/cli/output.js';
import { renderFields, renderTable } from '../../src/cli/table.js';

const ALL = ['table', 'wide', 'json', 'yaml', 'name'] as const;
const sink = (tty: boolean, columns?: number) => {
  let text = '';
  return {
    out: {
      isTTY: tty,
      columns,
      write: (c: string) => {
        text += c;
        return true;
      },
    } as unknown as NodeJS.WritableStream & { isTTY?: boolean },
    text: () => text,
  };
};
const output = (argv: string[], tty: boolean, env: NodeJS.ProcessEnv = {}, columns?: number) =>
  outputFrom(parseArgs(argv, ['output', 'json', 'wide']), { out: sink(tty, columns).out, env }, ALL);

t.test('-o picks the format; --json and --wide are its aliases; two different ones are bad usage', async (t) => {
  t.equal(output([], false).format, 'table');
  t.equal(output(['-o', 'yaml'], false).format, 'yaml');
  t.equal(output(['--json'], false).format, 'json');
  t.equal(output(['--json', '-o', 'json'], false).format, 'json', 'the same format twice is fine');
  t.equal(output(['--wide'], false).format, 'wide');
  t.throws(() => output(['--json', '-o', 'yaml'], false), UsageError);
  t.throws(
    () => outputFrom(parseArgs(['-o', 'name'], ['output']), { out: sink(false).out, env: {} }, ['table', 'json']),
    /this command prints table, json, not name/,
  );
});

t.test('colour and width only on a terminal; never with NO_COLOR or TERM=dumb', async (t) => {
  const piped = output([], false, {});
  t.equal(piped.colour, false);
  t.equal(piped.width, undefined, 'a pipe gets whole rows');
  const terminal = output([], true, {}, 100);
  t.equal(terminal.colour, true);
  t.equal(terminal.width, 100);
  t.equal(output([], true, { NO_COLOR: '1' }).colour, false);
  t.equal(output([], true, { TERM: 'dumb' }).colour, false);
  t.equal(output([], true, { COLUMNS: '60' }, 100).width, 60, 'COLUMNS wins on a terminal');
  t.equal(paintStatus({ colour: true }, 'active ', 'active'), '\u001b[32mactive \u001b[0m');
  t.equal(paintStatus({ colour: false }, 'active ', 'active'), 'active ');
});

t.test('tables fit the width: the widest columns are cut with …', async (t) => {
  const rows = [['0123456789abcdef', 'a-very-long-token-name-indeed', 'sensors', 'query,stream']];
  const whole = renderTable(['id', 'name', 'repository', 'rights'], rows);
  t.ok(whole.includes('a-very-long-token-name-indeed'));
  const fitted = renderTable(['id', 'name', 'repository', 'rights'], rows, { width: 50 });
  for (const line of fitted.trimEnd().split('\n')) t.ok(line.length <= 50, `"${line}" fits`);
  t.match(fitted, /^ID +NAME +REPOSITORY +RIGHTS$/m);
  t.match(fitted, /…/);
  const painted = renderTable(['name', 'status', 'x'], [['a', 'active', 'y']], { paint: (column, padded) => (column === 'status' ? `<${padded}>` : padded) });
  t.equal(painted, 'NAME  STATUS  X\na     <active>  y\n', 'paint sees the padded cell; the header is not painted');
});

t.test('whole columns are never cut; optional columns go first when a row is too wide', async (t) => {
  const id = '0123456789abcdef';
  const name = 'a-rather-long-name-for-a-token-on-a-narrow-terminal';
  const header = ['id', 'name', 'kind', 'repository', 'status'];
  const rows = [[id, name, 'repository', 'sensors-of-the-north', 'active']];
  const fitted = renderTable(header, rows, { width: 100, whole: ['id', 'name'], optional: ['kind'] });
  t.notMatch(fitted, /KIND/, 'KIND left out first');
  t.match(fitted, /^ID +NAME +REPOSITORY +STATUS$/m);
  t.ok(fitted.includes(`${id}  ${name}  sensors-of-the-north  active`), 'then nothing needed cutting');
  const narrow = renderTable(header, rows, { width: 80, whole: ['id', 'name'], optional: ['kind'] });
  for (const line of narrow.trimEnd().split('\n')) t.ok(line.length <= 80, `"${line}" fits`);
  t.ok(narrow.includes(`${id}  ${name}  `), 'the id and the name whole; the repository cut');
  const roomy = renderTable(header, rows, { width: 200, whole: ['id', 'name'], optional: ['kind'] });
  t.match(roomy, /KIND/, 'KIND stays where there is room');
});

t.test('renderFields: key: value lines, long values wrapped at spaces under their column', async (t) => {
  const text = renderFields(
    [
      ['id', '0123456789abcdef'],
      ['last used', 'a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg hh ii jj'],
    ],
    { width: 40 },
  );
  const lines = text.trimEnd().split('\n');
  t.equal(lines[0], 'id:         0123456789abcdef');
  t.match(lines[1], /^last used: {2}a b c/);
  for (const line of lines) t.ok(line.length <= 40, `"${line}" fits`);
  for (const line of lines.slice(2)) t.match(line, /^ {12}\S/, 'continued under the value column');
  t.equal(renderFields([['x', 'esc\u001b[2J']]), 'x:  esc\\x1b[2J\n', 'values shown through visible');
});

t.test('yaml parses back to the value and shows control and bidi characters as escapes', async (t) => {
  const value = { name: 'ok\u001b[2J\u202eevil', plain: 'sensors', list: [1, 'two'], nested: { 'key\u0085': null } };
  const text = asYaml(value);
  t.notMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, 'no raw unsafe character');
  t.same(parseYaml(text), value);
  t.match(text, /^plain: sensors$/m);
});

t.test('emit: name prints one identifier a line; json is the raw answer', async (t) => {
  for (const [format, expected] of [
    ['name', 'a\nb\n'],
    ['json', '{\n  "items": [\n    "a",\n    "b"\n  ]\n}\n'],
    ['table', 'TABLE'],
    ['wide', 'WIDE'],
  ] as const) {
    const s = sink(false);
    emit(
      { format, write: (x) => void s.out.write(x), tty: false, colour: false, width: undefined },
      { items: ['a', 'b'] },
      (wide) => (wide ? 'WIDE' : 'TABLE'),
      () => ['a', 'b'],
    );
    t.equal(s.text(), expected, format);
  }
});
