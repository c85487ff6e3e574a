import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { COMMANDS } from '../../src/cli/admin-commands.js';
import { completionScript } from '../../src/cli/completion.js';
import { LOCAL_COMMANDS } from '../../src/cli/local-commands.js';
import { TOP_COMMANDS, TOP_HELP } from '../../src/cli/top-help.js';

// The completion scripts come from the command and option tables; run the bash one in bash.

const bash = completionScript('bash', LOCAL_COMMANDS);

async function complete(...words: string[]): Promise<string[]> {
  const program = `${bash}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tollgate; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const { stdout } = await promisify(execFile)('bash', ['-c', program]);
  return stdout.split('\n').filter(Boolean);
}

t.test('bash completes commands, actions, options and allowed values', async (t) => {
  t.same(await complete('tollgate', 'w'), ['whoami']);
  t.same(await complete('tollgate', 'user', 'e'), ['edit']);
  t.same(await complete('tollgate', 'token', 'list', '--status', ''), ['active', 'rolled', 'revoked', 'expired']);
  t.same(await complete('tollgate', 'token', 'list', '--output', 'y'), ['yaml']);
  t.same(await complete('tollgate', 'token', 'revoke', '--y'), ['--yes']);
  t.same(await complete('tollgate', 'whoami', '-'), ['--admin-url', '--output', '-o', '--json', '--help', '-h']);
  t.same(await complete('tollgate', 'token', 'create', 'x'), [], 'no options offered for a word that is not one');
  t.same(await complete('tollgate', 'demo', '--up'), ['--upstream-port']);
  t.same(await complete('tollgate', 'ev'), ['events']);
  t.same(await complete('tollgate', 'events', '--t'), ['--type', '--token']);
  t.same(await complete('tollgate', 'token', 'u'), ['usage']);
  t.same(await complete('tollgate', 'repo', 'l'), ['list', 'limits']);
  t.same(await complete('tollgate', 'token', 'list', '--se'), ['--search']);
  t.same(await complete('tollgate', 'token', 'create', '--le'), ['--lend']);
});

t.test('completion offers every command the top-level help lists, and the help lists every command', async (t) => {
  const first = await complete('tollgate', '');
  for (const command of TOP_COMMANDS.filter((c) => c !== 'help' && c !== 'version')) {
    t.ok(first.includes(command), `completion offers ${command}`);
    t.match(TOP_HELP, new RegExp(`^  ${command}\\b`, 'm'), `the help lists ${command}`);
  }
  for (const [group, actions] of Object.entries(COMMANDS)) {
    t.same(await complete('tollgate', group, ''), Object.keys(actions), `completion offers every ${group} command`);
    t.match(TOP_HELP, `  ${group} ${Object.keys(actions).join('|')}`, `the help lists every ${group} command`);
  }
  for (const word of first.filter((w) => !w.startsWith('-'))) t.ok(TOP_COMMANDS.includes(word), `${word} is a command did-you-mean knows`);
});

t.test('zsh gets the same tables behind its own entry point', async (t) => {
  const zsh = completionScript('zsh', LOCAL_COMMANDS);
  t.match(zsh, /^#compdef tollgate\n/);
  t.match(zsh, /compadd -- \$candidates/);
  const table = (script: string) => script.slice(script.indexOf('_tollgate_words()'), script.indexOf('_tollgate() {'));
  t.equal(table(zsh), table(bash), 'one set of tables');
});

const hasZsh = await promisify(execFile)('zsh', ['-c', 'true']).then(
  () => true,
  () => false,
);

t.test('zsh runs the script: candidates for commands, actions and values', { skip: hasZsh ? false : 'zsh is not installed' }, async (t) => {
  const zsh = completionScript('zsh', LOCAL_COMMANDS);
  // compadd is zsh's to filter by prefix; this stand-in prints what it is given.
  const candidates = async (...words: string[]) => {
    const program = `compdef() { :; }\n${zsh}\ncompadd() { shift; print -r -- "$*"; }\nwords=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _tollgate`;
    return (await promisify(execFile)('zsh', ['-c', program])).stdout.trim();
  };
  t.equal(await candidates('tollgate', 'team', ''), 'create list show edit delete history');
  t.match(await candidates('tollgate', ''), /\bevents\b/);
  t.equal(await candidates('tollgate', 'token', 'list', '-o', ''), 'table wide json yaml name');
  t.match(await candidates('tollgate', 'token', 'create', '--k'), /^--name --repository --rights --kind /);
});
