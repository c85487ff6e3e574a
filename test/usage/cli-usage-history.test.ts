import { execFileSync, spawnSync } from 'node:child_process';
import t from 'tap';
import { request } from 'undici';
import { MAIN, runAdmin, runToEnd } from '../helpers/cli.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// `tollgate token usage ID --history` (the built CLI): a bar chart that fits 80 columns, block
// characters in a terminal (a tmux pane), plain ASCII in a pipe, and the API's answer with --json.

const h = await startHarness();
t.teardown(() => h.close());
const cliEnv = { TOLLGATE_ADMIN_URL: h.admin, TOLLGATE_TOKEN: h.adminSecret };
// In this process (runAdmin: the CLI's own entry, no process start); the first chart comes
// through a pipe from the built CLI as a process.
const cli = (...args: string[]) => runAdmin(args, cliEnv);

const made = await h.token(['query'], 'sensors', { name: 'chart-reader' });
for (let i = 0; i < 5; i++) {
  const res = await request(`${h.proxy}/v1/repositories/sensors/query`, { headers: bearer(made.secret) });
  await res.body.dump();
}
const refused = await request(`${h.proxy}/v1/repositories/billing/query`, { headers: bearer(made.secret) });
await refused.body.dump();
await h.tollgate.flushUsage();

t.test('in a pipe: one plain line per day, no line past 80 columns, the totals at the end', async (t) => {
  const run = await runToEnd(['token', 'usage', 'chart-reader', '--history', '7d'], cliEnv);
  t.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split('\n');
  for (const line of lines) t.ok(line.length <= 80, `${line.length} <= 80: ${line}`);
  t.match(lines[0], /^# allowed {2}x refused, per day \(UTC\)$/);
  t.equal(lines.filter((line) => /^\d{4}-\d{2}-\d{2} {2}/.test(line)).length, 8, 'seven days back and today');
  t.ok(
    lines.some((line) => /^\d{4}-\d{2}-\d{2} {2}#+x+ +5 {2}1 refused/.test(line)),
    'the busy day: its bar, allowed and refused',
  );
  t.match(lines.at(-1), /^total: 5 allowed, 1 refused, /);
  t.notMatch(run.stdout, /[█░\u001b]/, 'nothing but ASCII');
});

t.test('--step 1h gives a line per hour; --json is the API answer', async (t) => {
  const hourly = await cli('token', 'usage', 'chart-reader', '--history', '24h', '--step', '1h');
  t.equal(hourly.code, 0, hourly.stderr);
  t.match(hourly.stdout, /per hour/);
  t.equal(hourly.stdout.split('\n').filter((line) => /^\d{2}-\d{2} \d{2}:00 {2}/.test(line)).length, 25);
  const json = await cli('token', 'usage', 'chart-reader', '--history', '2d', '--json');
  const parsed = JSON.parse(json.stdout);
  t.equal(parsed.step, '1h', 'two days or less: by hour');
  t.equal(
    parsed.items.reduce((sum: number, item: { allowed: number }) => sum + item.allowed, 0),
    5,
  );
  const bad = await cli('token', 'usage', 'chart-reader', '--history', 'a week');
  t.equal(bad.code, 2, 'a bad duration is a usage error');
  t.match(bad.stderr, /history/);
  const stray = await cli('token', 'usage', 'chart-reader', '--step', '1d');
  t.equal(stray.code, 2, '--step alone is a usage error');
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
t.test('in an 80-column terminal: block bars, nothing past the width', { skip: hasTmux ? false : 'tmux is not installed' }, async (t) => {
  const socket = `tollgate-usage-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  t.teardown(() => void spawnSync('tmux', ['-L', socket, 'kill-server']));
  const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
  const vars = Object.entries({ ...cliEnv, NO_COLOR: '1', TERM: 'xterm', LANG: 'C.UTF-8' }).map(([k, v]) => `${k}=${quote(v)}`);
  const args = ['token', 'usage', 'chart-reader', '--history', '7d'];
  tmux(
    'new-session',
    '-d',
    '-x',
    '80',
    '-y',
    '50',
    '-s',
    'chart',
    `env -u NODE_OPTIONS -u NODE_V8_COVERAGE -u COLUMNS ${vars.join(' ')} ${quote(process.execPath)} ${quote(MAIN)} ${args.join(' ')}; echo "[exit $?]"; sleep 60`,
  );
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'chart');
  await waitFor(() => /\[exit \d+\]/.test(screen()), { what: 'the chart to be drawn', timeoutMs: 15_000 });
  const lines = screen().replace(/\s+$/, '').split('\n');
  t.ok(lines.includes('[exit 0]'));
  for (const line of lines) t.ok([...line].length <= 80, `${[...line].length} <= 80: ${line}`);
  t.ok(
    lines.some((line) => /█+░/.test(line)),
    'block characters in a terminal',
  );
});
