import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { MAIN, runAdmin, runToEnd } from '../helpers/cli.js';
import { startHarness } from '../helpers/harness.js';

// The built CLI in a real terminal of 80 and of 200 columns (a tmux pane, read back with
// capture-pane): nothing a user copies into the next command (ids, names) is cut, no line runs
// past the width, help wraps between words, and mistakes get a suggestion and one line of help.

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const skip = hasTmux ? false : 'tmux is not installed: these tests need a real terminal of a given width';

const h = await startHarness();
t.teardown(() => h.close());
const cliEnv = { TOLLGATE_ADMIN_URL: h.admin, TOLLGATE_TOKEN: h.adminSecret };
// Set-up and piped output in this process (runAdmin: the CLI's own entry, no process start); the
// terminals run the built CLI, and so does the missing-token check below.
const cli = (...args: string[]) => runAdmin(args, cliEnv);

const socket = `tollgate-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
if (hasTmux) t.teardown(() => spawnSync('tmux', ['-L', socket, 'kill-server']));
// One session that lives as long as the file: a tmux server whose last session ends exits, and a
// new-session sent while it exits fails ("server exited unexpectedly", seen in a full run).
if (hasTmux) tmux('new-session', '-d', '-s', 'keep', 'sleep 3600');
const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
let sessions = 0;

/**
 * Runs the CLI in a fresh tmux pane of `width` columns (a pseudo-terminal: isTTY, its own width,
 * COLUMNS unset) and returns what the pane shows, wrapped lines joined back (capture-pane -J), so
 * a line longer than the pane shows as one.
 */
async function inTerminal(width: number, args: string[], env: Record<string, string> = cliEnv): Promise<string[]> {
  const name = `s${sessions++}`;
  const vars = Object.entries({ ...env, NO_COLOR: '1', TERM: 'xterm' }).map(([k, v]) => `${k}=${quote(v)}`);
  // The pane signals tmux's channel `name` once the exit line is printed (a signal sent before
  // anyone waits is kept), and `tmux wait-for` returns on it: no polling of the pane, whose
  // synchronous reads would also stall the admin server this process runs for the CLI.
  const command = `env -u NODE_OPTIONS -u NODE_V8_COVERAGE -u COLUMNS -u LINES ${vars.join(' ')} ${quote(process.execPath)} ${quote(MAIN)} ${args.map(quote).join(' ')}; echo "[exit $?]"; tmux -L ${socket} wait-for -S ${name}; sleep 60`;
  tmux('new-session', '-d', '-x', String(width), '-y', '50', '-s', name, command);
  await new Promise<void>((resolve, reject) => {
    const waiting = execFile('tmux', ['-L', socket, 'wait-for', name], (err) => (err ? reject(err) : resolve()));
    const timer = setTimeout(() => {
      waiting.kill();
      reject(new Error(`timed out after 15000 ms waiting for ${args.join(' ')} to finish in tmux`));
    }, 15_000);
    waiting.once('exit', () => clearTimeout(timer));
  });
  const lines = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', name).replace(/\s+$/, '').split('\n');
  tmux('kill-session', '-t', name);
  return lines.slice(
    0,
    lines.findIndex((l) => /^\[exit \d+\]$/.test(l)),
  );
}

const tokens: Array<{ id: string; name: string }> = [];
for (const [name, repository] of [
  ['fit-ingest-eu-west-1', 'sensors'],
  ['fit-a', 'sensors'],
  ['fit-dashboard-ro', 'billing-archive'],
  ['long-a-name-that-leaves-little-room-for-more', 'billing-archive'],
]) {
  await cli('repo', 'create', repository!);
  const made = await cli('token', 'create', '--name', name!, '--repository', repository!, '--rights', 'query', '--expires-in', '30d', '-o', 'json');
  tokens.push(JSON.parse(made.stdout).token);
}

for (const width of [80, 200]) {
  t.test(`token list at ${width} columns: every id and name whole, no line past the width`, { skip }, async (t) => {
    const lines = await inTerminal(width, ['token', 'list', '--search', 'fit-']);
    for (const line of lines) t.ok(line.length <= width, `${line.length} <= ${width}: ${line}`);
    t.match(lines[0], /^ID +NAME +(KIND +)?REPOSITORY +STATUS +EXPIRES$/);
    for (const token of tokens.slice(0, 3))
      t.ok(
        lines.some((l) => l.startsWith(`${token.id}  `) && l.includes(`  ${token.name}  `)),
        `${token.id} ${token.name}`,
      );
    t.notMatch(lines.join('\n'), /…/, `nothing cut:\n${lines.join('\n')}`);
    if (width === 200) t.match(lines[0], /KIND/, 'every default column where there is room');
  });

  t.test(`token list at ${width} columns: a name and a repository too long for the rest leave columns out, cut nothing`, { skip }, async (t) => {
    const token = tokens[3]!;
    const lines = await inTerminal(width, ['token', 'list', '--search', 'long-a-name']);
    for (const line of lines) t.ok(line.length <= width, `${line.length} <= ${width}: ${line}`);
    t.ok(lines[1]!.startsWith(`${token.id}  ${token.name}  `), 'the id and the name whole');
    t.ok(lines[1]!.includes('  billing-archive'), 'the repository whole');
    t.notMatch(lines.join('\n'), /…/, 'nothing cut');
    t.match(lines[0], width === 80 ? /^ID +NAME +REPOSITORY$/ : /^ID +NAME +KIND +REPOSITORY +STATUS +EXPIRES$/);
  });

  t.test(`token show at ${width} columns: key: value lines, nothing cut`, { skip }, async (t) => {
    const token = tokens[0]!;
    const lines = await inTerminal(width, ['token', 'show', token.name]);
    for (const line of lines) t.ok(line.length <= width, `${line.length} <= ${width}: ${line}`);
    t.match(lines, [
      new RegExp(`^id: +${token.id}$`),
      new RegExp(`^name: +${token.name}$`),
      /^kind: +repository$/,
      /^repository: +sensors$/,
      /^rights: +query$/,
      /^status: +active$/,
    ]);
    t.ok(
      lines.some((l) => /^expires: +[A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC \(in \d+ days\)$/.test(l)),
      'the expiry, whole',
    );
    t.notMatch(lines.join('\n'), /…(?!$)/m, 'nothing cut (the prefix ends in … on purpose)');
  });

  t.test(`token create --help at ${width} columns: wrapped between words, nothing past the width`, { skip }, async (t) => {
    const lines = await inTerminal(width, ['token', 'create', '--help']);
    for (const line of lines) t.ok(line.length <= width, `${line.length} <= ${width}: ${line}`);
    const piped = (await cli('token', 'create', '--help')).stdout;
    const words = (text: string) => text.split(/\s+/).filter(Boolean);
    t.same(words(lines.join('\n')), words(piped), 'the same words, none broken');
    t.ok(
      lines.some((l) => /^ {2}(-\w, | {4})--lend +make a lent token: bound to the token/.test(l)),
      '--lend and its help',
    );
    if (width === 80)
      t.ok(
        piped.split('\n').some((l) => l.length > 80),
        'there was something to wrap',
      );
  });
}

t.test('-o wide at 200 columns never cuts an id', { skip }, async (t) => {
  const lines = await inTerminal(200, ['token', 'list', '--search', 'fit-', '-o', 'wide']);
  t.match(lines[0], /PARENT/);
  for (const token of tokens.slice(0, 3))
    t.ok(
      lines.some((l) => l.startsWith(`${token.id}  ${token.name}  `)),
      token.id,
    );
  const parent = /^([0-9a-f]{16})/.exec(lines[1]!)![1];
  t.ok(parent, 'ids in the first column');
});

t.test('a typo on a terminal: the error, did you mean, and one line to --help', { skip }, async (t) => {
  const typo = await inTerminal(80, ['token', 'crete']);
  t.same(typo, ['tollgate: unknown command "token crete"; did you mean "create"?', "Run 'tollgate token --help' for usage."]);
  const group = await inTerminal(80, ['tokens', 'list']);
  t.same(group, ['tollgate: unknown command "tokens"; did you mean "token"?', "Run 'tollgate --help' for usage."]);
  const option = await inTerminal(80, ['token', 'list', '--serch', 'x']);
  t.same(option, ['tollgate: unknown option --serch; did you mean "--search"?', "Run 'tollgate token list --help' for usage."]);
});

t.test('what to do next: a missing token, deleting an active token, revoke off a terminal', async (t) => {
  const noToken = await runToEnd(['token', 'list'], { TOLLGATE_ADMIN_URL: h.admin });
  t.equal(noToken.code, 2);
  t.match(noToken.stderr, /TOLLGATE_TOKEN is not set: set it to a token with the rights this command needs, e\.g\. export TOLLGATE_TOKEN=tgr_…/);
  const active = await cli('token', 'delete', tokens[1]!.id, '--yes');
  t.equal(active.code, 1);
  t.equal(active.stdout, `not deleted ${tokens[1]!.id}: it is active; revoke it first: tollgate token revoke ${tokens[1]!.id}\n`);
  const piped = await cli('token', 'revoke', tokens[1]!.id);
  t.equal(piped.code, 2);
  t.match(piped.stderr, /^tollgate: this command asks first, and stdin is not a terminal: give --yes to go ahead \(nothing changed\)\n/);
  t.notMatch(piped.stderr, /cannot be undone/);
});

t.test('--search and its alias --q find the same tokens', async (t) => {
  const search = JSON.parse((await cli('token', 'list', '--search', 'fit-a', '-o', 'json')).stdout).items.map((i: { id: string }) => i.id);
  const q = JSON.parse((await cli('token', 'list', '--q', 'fit-a', '-o', 'json')).stdout).items.map((i: { id: string }) => i.id);
  t.same(search, [tokens[1]!.id]);
  t.same(q, search);
  t.equal((await cli('token', 'list', '--search', 'a', '--q', 'b')).code, 2, 'not both');
});

t.test('token create --lend sends "lend": true in the body of POST /v1/tokens', async (t) => {
  const bodies: unknown[] = [];
  const api = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      bodies.push({ method: req.method, url: req.url, body: JSON.parse(body) });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ token: { id: '0123456789abcdef', name: 'job-42' }, secret: 'tgr_x' }));
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  t.teardown(() => api.close());
  const env = { TOLLGATE_ADMIN_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, TOLLGATE_TOKEN: 'tgr_unused' };
  const args = ['token', 'create', '--name', 'job-42', '--repository', 'sensors', '--rights', 'query', '--expires-in', '1h', '-o', 'json'];
  t.equal((await runToEnd([...args, '--lend'], env)).code, 0);
  t.equal((await runToEnd(args, env)).code, 0);
  t.match(bodies[0], { method: 'POST', url: '/v1/tokens', body: { name: 'job-42', lend: true } });
  t.notMatch(bodies[1], { body: { lend: Boolean } }, 'no lend without the flag');
});
