import t from 'tap';
import { didYouMean, editDistance, suggest } from '../../src/cli/suggest.js';
import { wrapText } from '../../src/cli/text-wrap.js';

t.test('edit distance counts insertions, deletions, substitutions and swaps as one step each', async (t) => {
  t.equal(editDistance('crete', 'create'), 1);
  t.equal(editDistance('craete', 'create'), 1, 'a swap of neighbours');
  t.equal(editDistance('tokens', 'token'), 1);
  t.equal(editDistance('list', 'list'), 0);
  t.equal(editDistance('', 'abc'), 3);
});

t.test('a typo is answered with the nearest command, nonsense with nothing', async (t) => {
  const actions = ['create', 'list', 'show', 'edit', 'roll', 'revoke', 'restore', 'delete', 'usage', 'history', 'leaked'];
  t.equal(suggest('crete', actions), 'create');
  t.equal(suggest('lsit', actions), 'list');
  t.equal(suggest('revok', actions), 'revoke');
  t.equal(suggest('leak', actions), 'leaked', 'the only command that starts so');
  t.equal(suggest('frobnicate', actions), undefined);
  t.equal(suggest('re', actions), undefined, 'a prefix of several is no suggestion');
  t.equal(didYouMean('tokens', ['token', 'user', 'team', 'repo']), '; did you mean "token"?');
  t.equal(didYouMean('--nmae', ['--name', '--rights']), '; did you mean "--name"?');
  t.equal(didYouMean('xyz', ['token']), '');
});

t.test('help wraps at spaces to the width, never mid-word, continuing under its column', async (t) => {
  const help = [
    'Usage: tollgate token create --name NAME --rights RIGHT[,RIGHT] [--repository REPOSITORY] [options]',
    '',
    'make a token; prints its secret once (and a QR code for a personal token). A repository token needs --repository',
    '  -o, --output FORMAT  how to print the answer: table, json, yaml (default table), and a few words more to wrap',
    '  https://example.com/a-very-long-url-that-does-not-fit-anywhere-in-forty-columns',
  ].join('\n');
  const words = (text: string) => text.split(/\s+/).filter(Boolean);
  for (const width of [40, 80]) {
    const wrapped = wrapText(help, width);
    t.same(words(wrapped), words(help), `${width}: every word kept whole, in order`);
    for (const line of wrapped.split('\n')) if (!line.includes('https://')) t.ok(line.length <= width, `${width}: "${line}"`);
  }
  const options = wrapText(help, 60).split('\n');
  const at = options.findIndex((l) => l.startsWith('  -o, --output FORMAT  how'));
  t.match(options[at + 1], /^ {23}\S/, 'an option row continues under its description');
  t.equal(wrapText(help, 200), help, 'nothing changes where it fits');
});
