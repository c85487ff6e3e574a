import { spawn } from 'node:child_process';
import t from 'tap';
import { MAIN, runAdmin, runToEnd } from '../helpers/cli.js';
import { startHarness } from '../helpers/harness.js';

// The built CLI on a pseudo-terminal (util-linux `script`), as a person runs it, and through a
// pipe, as a script does: the prompt, colour, NO_COLOR, and ANSI escapes only on a terminal.

const h = await startHarness();
t.teardown(() => h.close());
const cliEnv = { TOLLGATE_ADMIN_URL: h.admin, TOLLGATE_TOKEN: h.adminSecret };
/** Set-up and checks in this process (runAdmin: the CLI's own entry, no process start). */
const cli = (...args: string[]) => runAdmin(args, cliEnv);
/** The built CLI as a process writing into a pipe, as a script runs it. */
const throughPipe = (...args: string[]) => runToEnd(args, cliEnv);
const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI inside `script` on a 200-column pseudo-terminal; `input` is typed into it. */
function onTerminal(args: string[], input = '', env: Record<string, string> = {}) {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_') && k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE' && k !== 'NO_COLOR'),
  );
  const command = `stty cols 200; exec ${quote(process.execPath)} ${quote(MAIN)} ${args.map(quote).join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...base, TERM: 'xterm', ...cliEnv, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk.toString()));
  child.stdin.end(input);
  return new Promise<{ code: number | null; out: string }>((resolve) => child.on('close', (code) => resolve({ code, out: out.replace(/\r\n/g, '\n') })));
}

const made = JSON.parse((await cli('token', 'create', '--name', 'ci-loader', '--repository', 'sensors', '--rights', 'query', '-o', 'json')).stdout) as {
  token: { id: string; prefix: string };
};
const short = `${made.token.prefix.slice(0, 8)}…`;

t.test('revoke on a terminal asks, names the token, and a no changes nothing', async (t) => {
  const no = await onTerminal(['token', 'revoke', 'ci-loader'], 'n\n');
  t.equal(no.code, 1);
  t.match(no.out, `Revoke token "ci-loader" (${short})? It stops working at once`);
  t.match(no.out, `makes the same secret work again (not the closed streams) [y/N]`);
  t.match(no.out, /not confirmed: nothing changed/);
  t.match((await cli('token', 'show', 'ci-loader')).stdout, /\sactive\s/);
  const yes = await onTerminal(['token', 'revoke', 'ci-loader'], 'y\n');
  t.equal(yes.code, 0, yes.out);
  t.match(yes.out, /revoked/);
  const piped = await cli('token', 'restore', made.token.prefix);
  t.equal(piped.code, 0, 'restore, by secret prefix, asks nothing');
});

t.test('colour on a terminal, none with NO_COLOR, none through a pipe', async (t) => {
  const coloured = await onTerminal(['token', 'list', '--q', 'ci-loader']);
  t.match(coloured.out, /\u001b\[32mactive\s*\u001b\[0m/);
  const noColour = await onTerminal(['token', 'list', '--q', 'ci-loader'], '', { NO_COLOR: '1' });
  t.notMatch(noColour.out, /\u001b\[/);
  t.match(noColour.out, /\sactive\s/);
  const piped = await throughPipe('token', 'list', '--q', 'ci-loader');
  t.notMatch(piped.stdout, /\u001b/);
});

t.test("a personal token's QR code: ANSI blocks on a colour terminal, plain blocks through a pipe or with NO_COLOR", async (t) => {
  await cli('user', 'create', 'alice', '--grant', 'sensors=query');
  const args = ['token', 'create', '--kind', 'personal', '--user', 'alice', '--rights', 'query', '--name'];
  const terminal = await onTerminal([...args, 'phone-1']);
  t.equal(terminal.code, 0, terminal.out);
  t.match(terminal.out, /\u001b\[47m\u001b\[30m/, 'the terminal renderer');
  const piped = await throughPipe(...args, 'phone-2');
  t.equal(piped.code, 0, piped.stderr);
  t.match(piped.stdout, /[▀▄█]/, 'a QR code still');
  t.notMatch(piped.stdout, /\u001b/, 'without one escape');
  const noColour = await onTerminal([...args, 'phone-3'], '', { NO_COLOR: '1' });
  t.match(noColour.out, /[▀▄█]/);
  t.notMatch(noColour.out, /\u001b\[/);
});

t.test('delete on a terminal asks once for all the tokens named', async (t) => {
  await cli('token', 'revoke', 'ci-loader', '--yes');
  const run = await onTerminal(['token', 'delete', 'ci-loader'], 'yes\n');
  t.equal(run.code, 0, run.out);
  t.match(run.out, `Delete token "ci-loader" (${short})? No restore brings it back (the history stays) [y/N]`);
  t.match(run.out, `deleted ${made.token.id}`);
});

t.test('whoami, and a data token told 403 with exit 1', async (t) => {
  const me = await cli('whoami');
  t.equal(me.code, 0);
  t.match(me.stdout, /^role: +star: admin of every repository$/m);
  const data = await h.token(['query', 'stream'], 'sensors');
  const refused = await runToEnd(['token', 'list'], { ...cliEnv, TOLLGATE_TOKEN: data.secret });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^tollgate: 403 Insufficient scope: this token has no admin right/);
  t.match(refused.stderr, /tollgate whoami shows what this token may do/);
  t.equal(refused.stdout, '', 'no empty table');
  const itself = await runToEnd(['whoami'], { ...cliEnv, TOLLGATE_TOKEN: data.secret });
  t.equal(itself.code, 0);
  t.match(itself.stdout, /^scope: +sensors$/m);
  t.match(itself.stdout, /^rights: +query,stream$/m);
});
