import t from 'tap';
import { parseArgs, UsageError } from '../../src/cli/args.js';
import { cliDateTime, cliDuration, OPTIONS, optionsHelp } from '../../src/cli/options.js';

const usage = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a UsageError');
};

t.test('values, flags, lists, short options, = forms and -- are read by node:util parseArgs', async (t) => {
  const args = parseArgs(
    ['x', '--name=a', '-o', 'yaml', '--grant', 's=query', '--grant=b=stream', '--yes', '--', '--json'],
    ['name', 'output', 'grant', 'yes', 'json'],
  );
  t.same(args.positional, ['x', '--json']);
  t.equal(args.values.get('name'), 'a');
  t.equal(args.values.get('output'), 'yaml');
  t.same(args.lists.get('grant'), ['s=query', 'b=stream']);
  t.ok(args.flags.has('yes'));
  t.notOk(args.flags.has('json'), 'after -- it is a positional');
  t.equal(parseArgs(['-ojson'], ['output']).values.get('output'), 'json');
});

t.test('mistakes are usage errors that name the option and what it allows', async (t) => {
  t.equal(
    usage(() => parseArgs(['--colour'], ['name'])),
    'unknown option --colour',
  );
  t.equal(
    usage(() => parseArgs(['-x'], ['name'])),
    'unknown option -x',
  );
  t.equal(
    usage(() => parseArgs(['--name'], ['name'])),
    '--name needs a value, such as ci-loader',
  );
  t.equal(
    usage(() => parseArgs(['--name', '--json'], ['name', 'json'])),
    '--name needs a value, such as ci-loader',
  );
  t.equal(
    usage(() => parseArgs(['--name='], ['name'])),
    '--name needs a value, such as ci-loader',
  );
  t.equal(
    usage(() => parseArgs(['--json=yes'], ['json'])),
    '--json takes no value',
  );
  t.equal(
    usage(() => parseArgs(['--kind', 'robot'], ['kind'])),
    '--kind: expected one of repository, personal, got "robot"',
  );
  t.equal(
    usage(() => parseArgs(['-o', 'xml'], ['output'])),
    '--output: expected one of table, wide, json, yaml, name, got "xml"',
  );
  t.match(
    usage(() => parseArgs(['--rights', 'read'], ['rights'])),
    /^--rights: expected rights from stream, query, modify, delete, admin \(comma separated\), got "read"$/,
  );
  t.match(
    usage(() => parseArgs(['--rights', 'query,writ'], ['rights'])),
    /got "writ"$/,
  );
  t.match(
    usage(() => parseArgs(['--expires-in', '2x'], ['expires-in'])),
    /^--expires-in: expected a duration such as 12h, 30d or 2w/,
  );
  t.match(
    usage(() => parseArgs(['--expires-at', '2027-13-45'], ['expires-at'])),
    /^--expires-at: expected a date such as 2027-01-01/,
  );
  t.match(
    usage(() => parseArgs(['--grant', 'sensors'], ['grant'])),
    /expected REPOSITORY=RIGHT/,
  );
  t.match(
    usage(() => parseArgs(['--grant', 'Bad Repo=query'], ['grant'])),
    /is not a repository name/,
  );
  t.match(
    usage(() => parseArgs(['--grant', 'sensors=read'], ['grant'])),
    /got "read"/,
  );
  t.match(
    usage(() => parseArgs(['--sort', 'name,-colour'], ['sort'])),
    /unknown sort field "-colour"/,
  );
  t.match(
    usage(() => parseArgs(['--limit', '0'], ['limit'])),
    /from 1 to 500/,
  );
  t.match(
    usage(() => parseArgs(['--upstream-port', '70000'], ['upstream-port'])),
    /from 0 to 65535/,
  );
  t.match(
    usage(() => parseArgs(['--status', 'gone'], ['status'])),
    /expected one of active, rolled, revoked, expired/,
  );
  t.match(
    usage(() => parseArgs(['--expiring', 'soon'], ['expiring'])),
    /expected a duration/,
  );
  t.equal(parseArgs(['--sort', 'name,-createdAt', '--limit', '500'], ['sort', 'limit']).values.get('limit'), '500');
});

t.test('weeks become days; a date is the start of its day, UTC; date-times pass as given', async (t) => {
  t.equal(cliDuration('2w'), '14d');
  t.equal(cliDuration('1.5w'), '10.5d');
  t.equal(cliDuration('30d'), '30d');
  t.equal(cliDuration('250ms'), '250ms');
  t.equal(cliDuration('2 weeks'), undefined);
  t.equal(cliDateTime('2027-01-01'), '2027-01-01T00:00:00Z');
  t.equal(cliDateTime('2027-01-01T12:30:00+02:00'), '2027-01-01T12:30:00+02:00');
  t.equal(cliDateTime('2027-01-01T12:30Z'), '2027-01-01T12:30Z');
  for (const bad of ['2027-02-30x', '01/02/2027', 'tomorrow', '2027-01-01T12:00:00', '2027-99-01']) t.equal(cliDateTime(bad), undefined, bad);
});

t.test('help lists every option with its value, allowed values and an example', async (t) => {
  const help = optionsHelp(['kind', 'rights', 'expires-in', 'output', 'help']);
  t.match(help, /^ {6}--kind KIND +the kind of token \(token create: default repository\): repository, personal$/m);
  t.match(help, /--rights RIGHT\[,RIGHT\] +comma separated; rights: stream, query, modify, delete, admin \(e\.g\. query,stream\)/);
  t.match(help, /--expires-in DURATION +expire after this long \(e\.g\. 30d\)/);
  t.match(help, /^ {2}-o, --output FORMAT +how to print the answer: table, wide, json, yaml, name$/m);
  t.match(help, /^ {2}-h, --help/m);
  for (const [name, def] of OPTIONS) {
    if (def.kind !== 'flag') t.ok(def.value && (def.example || def.choices), `--${name} names its value and gives an example or its choices`);
  }
});

t.test('a local command refuses a positional config path and a shell it has no script for', async (t) => {
  const { runLocal } = await import('../../src/cli/local-commands.js');
  await t.rejects(runLocal('serve', ['my.yaml']), { message: 'unexpected argument "my.yaml": give a config file as --config my.yaml' });
  await t.rejects(runLocal('reconcile', ['extra']), { message: 'unexpected argument "extra"' });
  await t.rejects(runLocal('completion', []), { message: 'expected SHELL, got nothing' });
  await t.rejects(runLocal('completion', ['fish']), { message: 'expected bash or zsh, got "fish"' });
  const err = await runLocal('demo', ['--upstream-port', 'x']).catch((e: unknown) => e);
  t.type(err, UsageError);
  t.equal((err as UsageError).helpFor, 'demo', 'the error points at the help of the command');
});
