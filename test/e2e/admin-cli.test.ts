import { join } from 'node:path';
import t from 'tap';
import { ADMIN_GROUPS, adminHelp } from '../../src/cli/admin-commands.js';
import { initAndServe, runAdmin, runToEnd } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const served = await initAndServe(t, { TOLLGATE_STORE_FILE_PATH: join(t.testdir({}), 'store.jsonl') });
const cliEnv = { TOLLGATE_ADMIN_URL: served.adminUrl, TOLLGATE_TOKEN: served.admin };
// The commands run in this process (runAdmin: the CLI's own entry, no process start); the
// runToEnd calls below run the built CLI as a process, for each exit status (0, 1 and 2).
const cli = (...args: string[]) => runAdmin(args, cliEnv);

t.test('repositories and users are made and listed as tables', async (t) => {
  const repo = await cli('repo', 'create', 'sensors');
  t.equal(repo.code, 0, repo.stderr);
  t.match(repo.stdout, /^NAME\s+CREATED\s+BY\nsensors\s+just now\s+token:[0-9a-f]{16}\n$/);
  const user = await cli('user', 'create', 'alice', '--grant', 'sensors=query,stream');
  t.equal(user.code, 0, user.stderr);
  t.match(user.stdout, /alice\s+sensors=query,stream/);
  const users = await cli('user', 'list', '--json');
  t.same(
    JSON.parse(users.stdout).items.map((u: { name: string }) => u.name),
    ['alice'],
  );
});

t.test('token create prints the token, then the secret once; --json for scripts', async (t) => {
  const made = await cli('token', 'create', '--name', 'ingest', '--repository', 'sensors', '--rights', 'stream,query', '--expires-in', '30d');
  t.equal(made.code, 0, made.stderr);
  const [header, row] = made.stdout.split('\n');
  t.match(header, /^ID\s+NAME\s+KIND\s+REPOSITORY\s+STATUS\s+EXPIRES$/);
  t.equal(header!.indexOf('NAME'), row!.indexOf('ingest'), 'columns line up');
  t.match(row, /in 30 days/);
  t.match(made.stdout, /Secret \(shown once, store it now\):\ntgr_\w{49}\n/);
  const scripted = await cli('token', 'create', '--name', 'x', '--repository', 'sensors', '--rights', 'query', '--json');
  const parsed = JSON.parse(scripted.stdout);
  t.match(parsed.secret, /^tgr_/);
  t.equal(parsed.token.name, 'x');
});

t.test('a personal token also prints a QR code to scan', async (t) => {
  const made = await cli('token', 'create', '--kind', 'personal', '--user', 'alice', '--name', 'phone', '--repository', 'sensors', '--rights', 'query');
  t.equal(made.code, 0, made.stderr);
  t.match(made.stdout, /Scan to register a device \(tollgate:\/\/127\.0\.0\.1:8080\?token=…\)/);
  t.match(made.stdout, /[▀▄█]/, 'terminal QR blocks');
  const json = await cli('token', 'create', '--kind', 'personal', '--user', 'alice', '--name', 'p2', '--repository', 'sensors', '--rights', 'query', '--json');
  t.notMatch(json.stdout, /[▀▄█]/, '--json prints no QR');
  t.match(JSON.parse(json.stdout).qr, /^data:image\/svg\+xml;base64,/);
});

t.test('list, show, revoke, restore, delete and history', async (t) => {
  const made = JSON.parse((await cli('token', 'create', '--name', 'temp', '--repository', 'sensors', '--rights', 'query', '--json')).stdout);
  const id = made.token.id as string;
  const list = await cli('token', 'list', '--q', 'TEMP', '--json');
  t.same(
    JSON.parse(list.stdout).items.map((i: { id: string }) => i.id),
    [id],
  );
  const table = await cli('token', 'list', '--sort', 'name', '--limit', '2');
  t.match(table.stdout, /\n2 of \d+; next page: --cursor \S+\n$/);
  t.match((await cli('token', 'show', id)).stdout, new RegExp(`^id: +${id}\nname: +temp\n`));
  t.match((await cli('token', 'revoke', id, '--yes')).stdout, /revoked/);
  t.equal((await cli('token', 'revoke', id, '--yes')).code, 1, 'already revoked is a refusal');
  t.match((await cli('token', 'restore', id)).stdout, /active/);
  const active = await cli('token', 'delete', id, '--yes');
  t.equal(active.code, 1);
  t.match(active.stdout, `not deleted ${id}: it is active; revoke it first: tollgate token revoke ${id}`);
  await cli('token', 'revoke', id, '--yes');
  const deleted = await cli('token', 'delete', id, '--yes');
  t.equal(deleted.code, 0);
  t.equal(deleted.stdout, `deleted ${id}\n`);
  const history = await cli('token', 'history', id);
  t.match(history.stdout, /created[^\n]*\n[^\n]*revoked[^\n]*\n[^\n]*restored[^\n]*\n[^\n]*revoked[^\n]*\n[^\n]*deleted/);
  const edited = JSON.parse((await cli('token', 'create', '--name', 'e', '--repository', 'sensors', '--rights', 'query', '--json')).stdout);
  const change = await cli('token', 'edit', edited.token.id, '--rights', 'query,stream', '--name', 'e2', '--json');
  t.match(JSON.parse(change.stdout), { name: 'e2', rights: ['query', 'stream'] });
});

t.test('users: edit grants, delete; repositories: delete refused while tokens are active', async (t) => {
  t.match((await cli('user', 'edit', 'alice', '--grant', 'sensors=query')).stdout, /alice\s+sensors=query\s/);
  t.equal((await cli('user', 'delete', 'alice', '--yes')).code, 0);
  t.equal((await cli('user', 'show', 'alice')).code, 1);
  const refused = await cli('repo', 'delete', 'sensors', '--yes');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /409 Conflict: repository sensors still has \d+ active tokens/);
});

t.test('bad usage exits 2 with the command usage', async (t) => {
  const missing = await cli('token', 'create', '--name', 'x');
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--repository is required/);
  t.equal(
    missing.stderr,
    "tollgate: --repository is required for a repository token (only a personal token may leave it out: it then covers all its user's repositories)\nRun 'tollgate token create --help' for usage.\n",
    'the error and one line to the help',
  );
  t.equal((await cli('token', 'show')).code, 2);
  t.equal((await cli('token', 'frobnicate')).code, 2);
  t.equal((await cli('user', 'create', 'bob', '--grant', 'nonsense')).code, 2);
  const noToken = await runToEnd(['token', 'list'], { TOLLGATE_ADMIN_URL: cliEnv.TOLLGATE_ADMIN_URL });
  t.equal(noToken.code, 2);
  t.match(
    noToken.stderr,
    /^tollgate: TOLLGATE_TOKEN is not set: set it to a token with the rights this command needs, e\.g\. export TOLLGATE_TOKEN=tgr_… \(npm start prints a demo admin token; tollgate init-admin makes the first admin token of an install\)\n$/,
  );
});

t.test('refusals and failures exit 1 with the reason', async (t) => {
  const wrong = await runToEnd(['token', 'list'], { ...cliEnv, TOLLGATE_TOKEN: 'tgr_nope' });
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /401 Invalid token/);
  const down = await runToEnd(['repo', 'list'], { ...cliEnv, TOLLGATE_ADMIN_URL: `http://127.0.0.1:${await freePort()}` });
  t.equal(down.code, 1);
  t.match(down.stderr, /cannot reach the admin API/);
  t.equal((await cli('token', 'show', 'ffffffffffffffff')).code, 1);
});

t.test('every command has --help', async (t) => {
  // In-process for each command (a process per command would be slow); one real run below.
  const { runAdminCommand } = await import('../../src/cli/admin-commands.js');
  for (const group of ADMIN_GROUPS) {
    const actions = [...adminHelp(group).matchAll(new RegExp(`tollgate ${group} (\\w+)`, 'g'))].map((m) => m[1]!);
    t.ok(actions.length >= 3, group);
    for (const action of actions) {
      let text = '';
      const out = {
        write: (chunk: string) => {
          text += chunk;
          return true;
        },
      } as unknown as NodeJS.WritableStream;
      t.equal(await runAdminCommand(group, [action, '--help'], {}, out), 0, `${group} ${action}`);
      t.match(text, `Usage: tollgate ${group} ${action}`);
    }
  }
  const real = await runToEnd(['token', 'create', '--help'], cliEnv);
  t.equal(real.code, 0);
  t.equal(real.stdout, adminHelp('token', 'create'));
});
