import { PassThrough } from 'node:stream';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { ADMIN_GROUPS, adminHelp, COMMANDS, runAdminCommand, runCommand, SINGLE_COMMANDS } from '../../src/cli/admin-commands.js';
import { UsageError } from '../../src/cli/args.js';
import { CliFailure } from '../../src/cli/failure.js';
import { LOCAL_COMMANDS, localHelp, version } from '../../src/cli/local-commands.js';
import { OPTIONS } from '../../src/cli/options.js';
import { startHarness } from '../helpers/harness.js';

// The admin commands in this process against a real admin API (the e2e files run the built CLI;
// these cover every branch at the speed of a function call).

const h = await startHarness();
t.teardown(() => h.close());
const env = { TOLLGATE_ADMIN_URL: h.admin, TOLLGATE_TOKEN: h.adminSecret };

interface Run {
  code: number;
  out: string;
  said: string;
}

/** Runs `tollgate <argv>`; `tty` makes stdout a terminal of `columns`; `answer` types into a terminal stdin. */
async function cli(argv: string[], options: { tty?: boolean; columns?: number; answer?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  let out = '';
  let said = '';
  const stdout = {
    isTTY: options.tty ?? false,
    columns: options.columns,
    write: (c: string) => {
      out += c;
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const stdin = Object.assign(new PassThrough(), { isTTY: options.answer !== undefined });
  if (options.answer !== undefined) stdin.end(`${options.answer}\n`);
  const prompter = {
    stdin,
    stderr: {
      write: (c: string) => {
        said += c;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  };
  const [group, ...rest] = argv;
  const runEnv = options.env ?? env;
  const code = Object.hasOwn(SINGLE_COMMANDS, group!)
    ? await runCommand(SINGLE_COMMANDS[group!]!, rest, runEnv, stdout, prompter)
    : await runAdminCommand(group!, rest, runEnv, stdout, prompter);
  return { code, out, said };
}

const create = async (name: string, extra: string[] = []) =>
  JSON.parse((await cli(['token', 'create', '--name', name, '--repository', 'sensors', '--rights', 'query', '-o', 'json', ...extra])).out).token as {
    id: string;
    prefix: string;
    name: string;
  };

t.test('token roll asks first on a terminal and says what happens to the old secret; off a terminal it needs --yes', async (t) => {
  await create('ask-roll');
  await t.rejects(cli(['token', 'roll', 'ask-roll']), /give --yes to go ahead/);
  await t.rejects(cli(['token', 'roll', 'ask-roll'], { answer: 'n' }), /not confirmed: nothing changed/);
  const declined = await cli(['token', 'roll', 'ask-roll'], { answer: 'n' }).catch((err: unknown) => err);
  t.type(declined, CliFailure);
  const asked = await cli(['token', 'roll', 'ask-roll'], { answer: 'y' });
  t.match(
    asked.said,
    /^Roll token "ask-roll" \(tgr_\w{4}…\)\? A new secret is printed once; the old secret is revoked at once: every client still using it fails from now on \(give --overlap 24h to keep it working while clients switch\) \[y\/N\] $/,
  );
  const overlap = await cli(['token', 'roll', 'ask-roll', '--overlap', '24h'], { answer: 'yes' });
  t.match(overlap.said, /the old secret keeps working for 24h, then stops \[y\/N\] $/);
});

t.test('labels, allowFrom and selfRotate from the command line; token list --label finds by label', async (t) => {
  const made = await create('labelled', [
    '--label',
    'owner=team-a',
    '--label',
    'pipeline=nightly',
    '--allow-from',
    '10.0.0.0/8',
    '--allow-from',
    '::1',
    '--self-rotate',
  ]);
  const shown = (await cli(['token', 'show', 'labelled'], { columns: 200 })).out;
  t.match(shown, /labels: +owner: team-a, pipeline: nightly\n/);
  t.match(shown, /allow from: +10\.0\.0\.0\/8, ::1\n/);
  t.match(shown, /self-rotate: +yes: it may roll itself\n/);
  t.match(shown, /last used: +never used\n/);
  t.equal((await cli(['token', 'list', '--label', 'owner=team-a', '-o', 'name'])).out, `${made.id}\n`);
  await cli(['token', 'edit', 'labelled', '--label', 'owner=team-b', '--no-allow-from', '--no-self-rotate']);
  const edited = JSON.parse((await cli(['token', 'show', 'labelled', '-o', 'json'])).out);
  t.same([edited.labels, edited.allowFrom, edited.selfRotate], [{ owner: 'team-b' }, [], false]);
  await t.rejects(
    cli(['token', 'create', '--name', 'bad', '--repository', 'sensors', '--rights', 'query', '--allow-from', '10.0.0.0/33']),
    /--allow-from: expected a CIDR/,
  );
  await t.rejects(
    cli(['token', 'create', '--name', 'labelled', '--repository', 'sensors', '--rights', 'query']),
    /409 Conflict: name: repository sensors already has a token named "labelled"/,
  );
});

t.test('times read as people count, with the date beside them', async (t) => {
  await create('two-weeks', ['--expires-in', '2w']);
  const shown = (await cli(['token', 'show', 'two-weeks'], { columns: 200 })).out;
  t.match(shown, /expires: +[A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC \(in 14 days\)\n/);
  await create('thirty-days', ['--expires-in', '30d']);
  t.match((await cli(['token', 'show', 'thirty-days'], { columns: 200 })).out, /\(in 30 days\)/);
});

t.test('history reads as sentences: renames, rights as lists, expiries as dates, limits as rates', async (t) => {
  await create('storied', ['--expires-in', '2w', '--rate', '50/1s']);
  await cli(['token', 'edit', 'storied', '--name', 'storied-2', '--rights', 'query,stream', '--no-expiry', '--rate', '10/1s']);
  const shown = (await cli(['token', 'history', 'storied-2'], { tty: true, columns: 600, env: { ...env, NO_COLOR: '1' } })).out;
  t.match(shown, /created +kind repository; name storied; .*rights query; expiry [A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC; .*limits 50\/1s/);
  t.match(
    shown,
    /edited +renamed "storied" to "storied-2"; rights query → query, stream; expiry [A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC → never; limits 50\/1s → 10\/1s/,
  );
  t.notMatch(shown, /[{"]rate|token:[0-9a-f]{16}/, 'no JSON, no bare token ids as actors');
});

t.test('a token is named by id, unique id prefix, secret prefix or exact name', async (t) => {
  const token = await create('ci-loader');
  for (const reference of [token.id, token.id.slice(0, 8), token.prefix, token.prefix.slice(0, 10), 'ci-loader']) {
    const shown = await cli(['token', 'show', reference, '-o', 'name']);
    t.equal(shown.out, `${token.id}\n`, reference);
  }
  await t.rejects(cli(['token', 'show', 'ci-load']), CliFailure, 'a partial name is no match');
  await t.rejects(cli(['token', 'show', 'nothing-like-it']), /no token matches "nothing-like-it" \(by id, id prefix, secret prefix or exact name\)/);
});

t.test('an ambiguous reference is bad usage that lists the candidates', async (t) => {
  // Names are unique per repository: one in each of two repositories.
  const a = await create('twin');
  const b = await create('twin', ['--repository', 'billing']);
  const err = await cli(['token', 'show', 'twin']).catch((e: unknown) => e);
  t.type(err, UsageError);
  t.match((err as Error).message, /^"twin" matches 2 tokens; name one by id:\n/);
  t.match((err as Error).message, new RegExp(`  ${a.id}  "twin" \\(tgr_\\w{4}…\\)  active`));
  t.ok((err as Error).message.includes(b.id));
  const byId = await cli(['token', 'show', b.id, '-o', 'name']);
  t.equal(byId.out, `${b.id}\n`, 'the full id settles it');
});

t.test('-o json, yaml, name, wide and table print the same token', async (t) => {
  const token = await create('formats', ['--expires-in', '2w']);
  const json = JSON.parse((await cli(['token', 'show', 'formats', '-o', 'json'])).out);
  t.equal(json.id, token.id);
  t.match(json.expiresAt, /^\d{4}-/);
  t.same(parseYaml((await cli(['token', 'show', 'formats', '-o', 'yaml'])).out), json);
  t.same(JSON.parse((await cli(['token', 'show', 'formats', '--json'])).out), json, '--json is -o json');
  const list = await cli(['token', 'list', '--q', 'formats', '-o', 'name']);
  t.equal(list.out, `${token.id}\n`);
  const wide = await cli(['token', 'list', '--q', 'formats', '-o', 'wide']);
  t.match(wide.out, /LAST USER AGENT\s+PARENT/);
  t.match(wide.out, /in 14 days/, '2w is 14 days, rounded as people count');
  const table = await cli(['token', 'list', '--q', 'formats']);
  t.notMatch(table.out, /PARENT/);
  t.match(table.out, /\n1 of 1\n$/);
  t.notMatch(table.out, /\u001b/, 'no colour when stdout is no terminal');
});

t.test('on a terminal the status is coloured (unless NO_COLOR) and the table fits its width', async (t) => {
  await create('a-rather-long-name-for-a-token-on-a-narrow-terminal');
  const coloured = await cli(['token', 'list', '--q', 'narrow'], { tty: true, columns: 140 });
  t.match(coloured.out, /\u001b\[32mactive\s*\u001b\[0m/);
  const plain = await cli(['token', 'list', '--q', 'narrow'], { tty: true, columns: 70, env: { ...env, NO_COLOR: '1' } });
  t.notMatch(plain.out, /\u001b/);
  for (const line of plain.out.trimEnd().split('\n')) t.ok(line.length <= 70, `fits: ${line}`);
  // Too long a name for the rest at 70: the id and the name stay whole, the other columns go.
  t.match(plain.out, /^ID +NAME\n[0-9a-f]{16} {2}a-rather-long-name-for-a-token-on-a-narrow-terminal\n/);
  t.notMatch(plain.out, /…/, 'nothing is cut');
});

t.test('--expires-at takes a date: the start of that day, UTC', async (t) => {
  const made = JSON.parse(
    (await cli(['token', 'create', '--name', 'dated', '--repository', 'sensors', '--rights', 'query', '--expires-at', '2099-01-01', '-o', 'json'])).out,
  );
  t.equal(made.token.expiresAt, '2099-01-01T00:00:00.000Z');
  const edited = JSON.parse((await cli(['token', 'edit', 'dated', '--expires-in', '1w', '-o', 'json'])).out);
  t.ok(Date.parse(edited.expiresAt) - Date.now() <= 7 * 86_400_000 + 60_000);
  await t.rejects(cli(['token', 'edit', 'dated', '--expires-in', '1w', '--no-expiry']), /give one of --expires-in, --no-expiry/);
  await t.rejects(cli(['token', 'edit', 'dated']), /nothing to change/);
});

t.test('revoke and delete ask on a terminal, name the token, and do nothing on no', async (t) => {
  const token = await create('ci-victim');
  const declined = cli(['token', 'revoke', 'ci-victim'], { answer: 'n' });
  await t.rejects(declined, /not confirmed: nothing changed/);
  t.equal(JSON.parse((await cli(['token', 'show', token.id, '-o', 'json'])).out).status, 'active', 'still active');
  const revoked = await cli(['token', 'revoke', 'ci-victim'], { answer: 'y' });
  t.equal(
    revoked.said,
    `Revoke token "ci-victim" (${token.prefix.slice(0, 8)}…)? It stops working at once and its open streams are closed; ` +
      `tollgate token restore ${token.id} makes the same secret work again (not the closed streams) [y/N] `,
    'says what restore can undo, and what it cannot',
  );
  t.notMatch(revoked.said, /cannot be undone/);
  t.match(revoked.out, /^status: +revoked$/m);
  await t.rejects(cli(['token', 'delete', token.id]), /stdin is not a terminal: give --yes to go ahead/);
  const deleted = await cli(['token', 'delete', token.id], { answer: 'yes' });
  t.equal(deleted.said, `Delete token "ci-victim" (${token.prefix.slice(0, 8)}…)? No restore brings it back (the history stays) [y/N] `);
  t.equal(deleted.out, `deleted ${token.id}\n`);
  const history = await cli(['token', 'history', token.id, '-o', 'json']);
  t.same(
    JSON.parse(history.out).items.map((i: { action: string }) => i.action),
    ['created', 'revoked', 'deleted'],
    'history by full id after delete',
  );
});

t.test('deleting several asks once for all; a failure exits 1 after saying which', async (t) => {
  const [a, b] = [await create('pair-a'), await create('pair-b')];
  await cli(['token', 'revoke', a.id, '--yes']);
  const run = await cli(['token', 'delete', a.id, b.id], { answer: 'y' });
  t.match(run.said, /^Delete 2 tokens: "pair-a" \(tgr_\w{4}…\), "pair-b" \(tgr_\w{4}…\)\? No restore brings them back \(the history stays\) \[y\/N\] $/);
  t.equal(run.code, 1);
  t.equal(run.out, `deleted ${a.id}\nnot deleted ${b.id}: it is active; revoke it first: tollgate token revoke ${b.id}\n`, 'says what to do next');
});

t.test('user edit without --grant refuses instead of wiping the grants; --no-grants does it on purpose', async (t) => {
  await cli(['user', 'create', 'bob', '--grant', 'sensors=query']);
  await t.rejects(cli(['user', 'edit', 'bob']), /give the new grants \(--grant, repeatable\), or --no-grants to remove them all, or --disabled/);
  await t.rejects(cli(['user', 'edit', 'bob', '--grant', 'sensors=query', '--no-grants']), /not both/);
  t.same(JSON.parse((await cli(['user', 'show', 'bob', '-o', 'json'])).out).grants, { sensors: ['query'] }, 'unchanged');
  t.same(JSON.parse((await cli(['user', 'edit', 'bob', '--no-grants', '-o', 'json'])).out).grants, {});
  const disabled = JSON.parse((await cli(['user', 'edit', 'bob', '--disabled', 'true', '-o', 'json'])).out);
  t.same([disabled.disabled, disabled.grants], [true, {}], '--disabled alone changes no grant');
  t.equal(JSON.parse((await cli(['user', 'edit', 'bob', '--disabled', 'false', '-o', 'json'])).out).disabled, false);
  await t.rejects(cli(['user', 'edit', 'bob', '--disabled', 'maybe']), /true, false/);
  t.equal((await cli(['user', 'list', '-o', 'name'])).out, 'bob\n');
  await t.rejects(cli(['user', 'delete', 'bob']), UsageError, 'no --yes off a terminal');
  const deleted = await cli(['user', 'delete', 'bob'], { answer: 'y' });
  t.equal(deleted.said, 'Delete user "bob" (revokes their personal tokens)? [y/N] ');
  t.equal(deleted.out, 'deleted user bob\n');
});

t.test('teams and repositories print as names and yaml too', async (t) => {
  await cli(['team', 'create', 'platform', '--grant', 'sensors=query']);
  t.equal((await cli(['team', 'list', '-o', 'name'])).out, 'platform\n');
  t.match(parseYaml((await cli(['team', 'show', 'platform', '-o', 'yaml'])).out), { name: 'platform', grants: { sensors: ['query'] } });
  t.equal((await cli(['team', 'delete', 'platform', '--yes', '-o', 'name'])).out, 'platform\n');
  t.equal((await cli(['repo', 'create', 'spare', '-o', 'name'])).out, 'spare\n');
  t.match((await cli(['repo', 'list', '-o', 'name'])).out, /^billing\nsensors\nspare\n$/);
  t.equal((await cli(['repo', 'delete', 'spare', '--yes'])).out, 'deleted repository spare\n');
});

t.test('whoami: name, kind, scope, rights, expiry and role, in every format', async (t) => {
  const me = await cli(['whoami']);
  t.match(me.out, /^token: +test admin \(tgr_\w{8}…, id [0-9a-f]{16}\)$/m);
  t.match(me.out, /^kind: +repository$/m);
  t.match(me.out, /^scope: +\* \(all repositories\)$/m);
  t.match(me.out, /^rights: +stream,query,modify,delete,admin$/m);
  t.match(me.out, /^expires: +never$/m);
  t.match(me.out, /^role: +star: admin of every repository$/m);
  t.match(JSON.parse((await cli(['whoami', '-o', 'json'])).out), { role: 'star', token: { name: 'test admin' } });
  const data = await h.token(['query'], 'sensors', { expiresIn: '30d' });
  const asData = await cli(['whoami'], { env: { ...env, TOLLGATE_TOKEN: data.secret } });
  t.match(asData.out, /^role: +none: no admin API \(a data token\)$/m);
  t.match(asData.out, /^expires: +[A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC \(in 30 days\)$/m);
  t.match(asData.out, /^effective: +sensors=query$/m);
  t.equal((await cli(['whoami', '-o', 'name'], { env: { ...env, TOLLGATE_TOKEN: data.secret } })).out, `${data.token.id}\n`);
});

t.test('a data token is told 403 and pointed at whoami, not given an empty list', async (t) => {
  const data = await h.token(['query'], 'sensors');
  const err = await cli(['token', 'list'], { env: { ...env, TOLLGATE_TOKEN: data.secret } }).catch((e: unknown) => e);
  t.type(err, CliFailure);
  t.match((err as Error).message, /^403 Insufficient scope: this token has no admin right[^\n]*\n\(tollgate whoami shows what this token may do\)$/);
});

t.test('bad usage: counts, formats a command does not print, unknown commands', async (t) => {
  await t.rejects(cli(['token', 'show']), /expected 1 argument, got 0/);
  await t.rejects(cli(['token', 'delete']), /expected 1 to 500 arguments, got 0/);
  await t.rejects(
    cli(['token', 'create', '--name', 'x', '--repository', 'sensors', '--rights', 'query', '-o', 'name']),
    /this command prints table, json, yaml, not name/,
  );
  await t.rejects(cli(['token', 'create', '--name', 'x', '--kind', 'personal', '--rights', 'query']), /--user is required for a personal token/);
  await t.rejects(cli(['token', 'constructor']), /unknown command "token constructor"/);
  const usage = await cli(['token', 'list', '--colour']).catch((e: unknown) => e);
  t.equal((usage as UsageError).helpFor, 'token list', 'the error points at the command help');
});

t.test('--help on every command lists each option, its allowed values, and an example', async (t) => {
  for (const group of ADMIN_GROUPS) {
    const groupHelp = await cli([group, '--help']);
    t.equal(groupHelp.code, 0);
    t.equal(groupHelp.out, adminHelp(group));
    for (const [action, command] of Object.entries(COMMANDS[group]!)) {
      for (const flag of ['--help', '-h']) {
        const run = await cli([group, action, flag]);
        t.equal(run.code, 0, `${group} ${action} ${flag}`);
        t.match(run.out, `Usage: tollgate ${group} ${action}`);
        t.match(run.out, /\nExamples?:\n {2}tollgate /);
        for (const option of command.options) t.match(run.out, `--${option}`, `${group} ${action} lists --${option}`);
        t.match(run.out, new RegExp(`-o, --output FORMAT +how to print the answer: ${command.outputs.join(', ')} \\(default table\\)`));
      }
    }
  }
  t.match((await cli(['whoami', '--help'])).out, /^Usage: tollgate whoami \[options\]/);
  for (const [name, command] of Object.entries(LOCAL_COMMANDS)) {
    const help = localHelp(command);
    t.match(help, `Usage: tollgate ${name}`);
    for (const option of command.options) t.match(help, `--${option} ${OPTIONS.get(option)!.value}`);
    t.match(help, /\nExamples?:\n {2}/);
  }
  t.match(version(), /^\d+\.\d+\.\d+/);
});

t.test('create prints the secret once and a QR code: ANSI only for a colour terminal', async (t) => {
  await cli(['user', 'create', 'qr-user', '--grant', 'sensors=query']);
  const args = ['token', 'create', '--kind', 'personal', '--user', 'qr-user', '--rights', 'query', '--name'];
  const piped = await cli([...args, 'qr-1']);
  t.match(piped.out, /Secret \(shown once, store it now\):\ntgp_\w{49}\n/);
  t.match(piped.out, /Scan to register a device \(tollgate:\/\/[^)]*token=…\)/);
  t.match(piped.out, /[▀▄█]/);
  t.notMatch(piped.out, /\u001b/);
  t.match((await cli([...args, 'qr-2'], { tty: true, columns: 200 })).out, /\u001b\[47m/);
  t.notMatch((await cli([...args, 'qr-3'], { tty: true, columns: 200, env: { ...env, NO_COLOR: 'x' } })).out, /\u001b/);
  const yaml = parseYaml((await cli([...args, 'qr-4', '-o', 'yaml'])).out);
  t.match(yaml, { token: { name: 'qr-4' }, secret: /^tgp_/ });
});

t.test('roll by name: the new secret, then when the old one stops; -o json adds the old token', async (t) => {
  await create('to-roll');
  const rolled = await cli(['token', 'roll', 'to-roll', '--overlap', '1w', '--yes']);
  t.match(rolled.out, /Secret \(shown once, store it now\):\ntgr_\w{49}\n/);
  t.match(rolled.out, /The old secret \(token [0-9a-f]{16}\) stops working at [A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC \(in 7 days\)\.\n$/);
  const both = JSON.parse((await cli(['token', 'list', '--q', 'to-roll', '-o', 'json'])).out).items as Array<{
    id: string;
    status: string;
    rolledTo: string | null;
  }>;
  t.same(both.map((x) => x.status).sort(), ['active', 'rolled'], 'old and new both work through the overlap; the old one reads rolled');
  const newer = both.find((x) => x.status === 'active')!;
  t.equal(both.find((x) => x.status === 'rolled')!.rolledTo, newer.id, 'rolled into the new one');
  t.equal((await cli(['token', 'show', 'to-roll', '-o', 'name'])).out, `${newer.id}\n`, 'the name means the new one');
  const again = JSON.parse((await cli(['token', 'roll', 'to-roll', '--yes', '-o', 'json'])).out);
  t.equal(again.previous.id, newer.id, 'a second roll by name rolls the new one');
  t.equal(again.previous.status, 'revoked', 'no overlap: revoked at once');
  const history = await cli(['team', 'create', 'rollers']).then(() => cli(['team', 'history', 'rollers']));
  t.match(
    history.out,
    /^AT +WHEN +ACTOR +ACTION +CHANGES\n[A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC +just now +"test admin" \([0-9a-f]{8}…\) +created/,
    'actors by name, as the page shows them',
  );
});
