import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { LOCAL_COMMANDS } from '../../src/cli/local-commands.js';
import { runAdmin, runToEnd } from '../helpers/cli.js';

// The built CLI without a server: help, version, and bad usage caught before any request. The
// local commands (serve, init-admin, demo, …) run as processes; the admin commands in this process
// through the CLI's own entry (runAdmin: the same output and status, no process start), but for
// `token create --help` and `token list -o xml`, run as processes too.
const tollgate = (args: string[], env: Record<string, string> = {}) =>
  Object.hasOwn(LOCAL_COMMANDS, args[0]!) || ['token create --help', 'token list -o xml'].includes(args.join(' ')) ? runToEnd(args, env) : runAdmin(args, env);

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const noServer = { TOLLGATE_ADMIN_URL: 'http://127.0.0.1:9', TOLLGATE_TOKEN: 'tgr_unused' };

t.test('--help and -h work on every command, the local ones included, and exit 0', async (t) => {
  const runs = await Promise.all(
    [['serve'], ['init-admin'], ['demo'], ['reconcile'], ['completion'], ['whoami'], ['token', 'create'], ['user', 'edit']].flatMap((command) => [
      tollgate([...command, '--help']).then((run) => ({ command, flag: '--help', run })),
      tollgate([...command, '-h']).then((run) => ({ command, flag: '-h', run })),
    ]),
  );
  for (const { command, flag, run } of runs) {
    t.equal(run.code, 0, `${command.join(' ')} ${flag}: ${run.stderr}`);
    t.match(run.stdout, `Usage: tollgate ${command.join(' ')}`);
    t.match(run.stdout, /\nExamples?:\n {2}\S/);
    t.equal(run.stderr, '');
  }
  const demo = runs.find((r) => r.command[0] === 'demo')!.run.stdout;
  t.match(demo, /--upstream-port PORT +port of the demo upstream/);
});

t.test('--version, -V and version print the package version', async (t) => {
  for (const flag of ['--version', '-V', 'version']) {
    const run = await runToEnd([flag]);
    t.equal(run.code, 0);
    t.equal(run.stdout, `tollgate ${version}\n`);
  }
});

t.test('a positional config path is an error, not silently ignored', async (t) => {
  const run = await runToEnd(['serve', 'my.yaml']);
  t.equal(run.code, 2);
  t.match(run.stderr, /^tollgate: unexpected argument "my\.yaml": give a config file as --config my\.yaml\n/);
  const other = await runToEnd(['init-admin', 'extra']);
  t.equal(other.code, 2);
  t.match(other.stderr, /unexpected argument "extra"/);
});

t.test('bad flag values exit 2 naming what is allowed, before any request', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['token', 'create', '--name', 'x', '--repository', 's', '--rights', 'read'], /--rights: expected rights from stream, query, modify, delete, admin/],
    [
      ['token', 'create', '--name', 'x', '--repository', 's', '--rights', 'query', '--kind', 'robot'],
      /--kind: expected one of repository, personal, got "robot"/,
    ],
    [
      ['token', 'create', '--name', 'x', '--repository', 's', '--rights', 'query', '--expires-in', '2x'],
      /--expires-in: expected a duration such as 12h, 30d or 2w/,
    ],
    [
      ['token', 'create', '--name', 'x', '--repository', 's', '--rights', 'query', '--expires-at', 'next year'],
      /--expires-at: expected a date such as 2027-01-01/,
    ],
    [['token', 'list', '-o', 'xml'], /--output: expected one of table, wide, json, yaml, name, got "xml"/],
    [['token', 'list', '--status', 'dead'], /--status: expected one of active, rolled, revoked, expired/],
    [['token', 'revoke', 'ci-loader'], /stdin is not a terminal: give --yes to go ahead/],
    [['user', 'edit', 'bob'], /give the new grants/],
    [['demo', '--upstream-port', 'eighty'], /--upstream-port: expected a port number/],
    [['completion', 'fish'], /expected bash or zsh, got "fish"/],
    [['serve', '--colour'], /unknown option --colour/],
  ];
  const runs = await Promise.all(cases.map(([args]) => tollgate(args, noServer)));
  runs.forEach((run, i) => {
    const [args, expected] = cases[i]!;
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, expected, args.join(' '));
    t.notMatch(run.stderr, /cannot reach the admin API/, 'refused before any request');
  });
});

t.test('completion bash: the script loads in bash and completes commands, actions, options and values', async (t) => {
  const script = await runToEnd(['completion', 'bash']);
  t.equal(script.code, 0);
  const complete = async (...words: string[]) => {
    const program = `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tollgate; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await promisify(execFile)('bash', ['-c', program]);
    return stdout.trim().split('\n').filter(Boolean);
  };
  t.same(await complete('tollgate', 'to'), ['token']);
  t.same(await complete('tollgate', 'token', 're'), ['revoke', 'restore']);
  t.ok((await complete('tollgate', 'token', 'create', '--ex')).includes('--expires-in'));
  t.same(await complete('tollgate', 'token', 'list', '-o', ''), ['table', 'wide', 'json', 'yaml', 'name']);
  t.same(await complete('tollgate', 'token', 'create', '--kind', 'p'), ['personal']);
  t.same(await complete('tollgate', 'serve', '--c'), ['--config']);
  t.same(await complete('tollgate', 'completion', ''), ['bash', 'zsh']);
  const zsh = await runToEnd(['completion', 'zsh']);
  t.match(zsh.stdout, /^#compdef tollgate\n/);
  t.match(zsh.stdout, /compdef _tollgate tollgate/);
});

t.test('a YAML syntax error exits 2 naming the line, the reason, and showing the line', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'cache:\n  ttl: a: b\n' });
  const run = await runToEnd(['serve', '--config', `${dir}/bad.yaml`]);
  t.equal(run.code, 2);
  t.match(
    run.stderr,
    /^tollgate: invalid configuration\n {2}\S+bad\.yaml:2:8: not valid YAML: Nested mappings are not allowed in compact mappings\n {4}2 \| {3}ttl: a: b\n {4} {4}( {7})\^\n$/,
  );
});
