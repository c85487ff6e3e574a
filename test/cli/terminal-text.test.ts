import t from 'tap';
import { terminalJson, visible } from '../../src/cli/terminal-text.js';

/** What no printed line may hold raw: C0, DEL, C1, Unicode's Bidi_Control set, and the line and paragraph separators. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

t.test('control characters are shown as visible escapes', async (t) => {
  t.equal(visible('a\u001b[2Jb'), 'a\\x1b[2Jb', 'ESC');
  t.equal(visible('row\r\nfake'), 'row\\x0d\\x0afake', 'CR and LF');
  t.equal(visible('\u0000\u0007\u0008\u0009\u007f'), '\\x00\\x07\\x08\\x09\\x7f', 'NUL, BEL, BS, TAB, DEL');
  t.equal(visible('\u0080\u009b31m\u009d0;t\u009c'), '\\x80\\x9b31m\\x9d0;t\\x9c', 'C1: CSI, OSC, ST');
});

t.test('bidi overrides, isolates and marks and the Unicode line separators are shown as escapes', async (t) => {
  t.equal(visible('admin\u202egpj.exe'), 'admin\\u202egpj.exe');
  for (const code of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029, 0x200e, 0x200f, 0x061c]) {
    const c = String.fromCharCode(code);
    t.equal(visible(`x${c}y`), `x\\u${code.toString(16).padStart(4, '0')}y`, `U+${code.toString(16)}`);
  }
});

t.test('printable text passes unchanged, other scripts and emoji included', async (t) => {
  for (const text of ['ingest', 'tgr_AbCdEfGh', 'café', 'Ünïcödé', '日本語', 'עברית', '🚀 rocket', 'a\\x1b literal backslash', '~!@#$%^&*()']) {
    t.equal(visible(text), text);
  }
});

t.test('for every string, the result holds nothing unsafe', async (t) => {
  let all = '';
  for (let code = 0; code < 0x2100; code++) all += String.fromCharCode(code);
  t.notMatch(visible(all), UNSAFE);
});

t.test('--json output stays JSON that parses to the same value, with C1, DEL and bidi characters escaped too', async (t) => {
  const value = { name: 'a\u001b[2J\u009b\u202e\u2066\u2028\u007fz', n: 1, list: ['\u0085'], nested: { ok: 'plain' } };
  const text = terminalJson(value);
  t.same(JSON.parse(text), value);
  t.notMatch(text.replaceAll('\n', ''), UNSAFE, 'nothing unsafe but the newlines between lines');
  t.match(text, '"a\\u001b[2J\\u009b\\u202e\\u2066\\u2028\\u007fz"');
  t.equal(terminalJson({ a: 'plain' }), JSON.stringify({ a: 'plain' }, null, 2), 'ordinary JSON is unchanged');
});

t.test('tables escape every cell before measuring, so the columns line up with what is printed', async (t) => {
  const { renderTable } = await import('../../src/cli/table.js');
  const text = renderTable(
    ['name', 'kind'],
    [
      ['a\u001bb', 'repository'],
      ['plain', 'personal'],
    ],
  );
  t.equal(text, 'NAME    KIND\na\\x1bb  repository\nplain   personal\n');
});
