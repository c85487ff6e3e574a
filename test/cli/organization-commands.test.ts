import { PassThrough } from 'node:stream';
import t from 'tap';
import { runAdminCommand } from '../../src/cli/admin-commands.js';
import { startHarness } from '../helpers/harness.js';

// `tollgate org create|list|show|edit|delete` and `--org` on the list commands, in this process
// against a real admin API (docs/organizations.md).

const h = await startHarness();
t.teardown(() => h.close());
const env = { TOLLGATE_ADMIN_URL: h.admin, TOLLGATE_TOKEN: h.adminSecret };

async function cli(argv: string[], answer?: string): Promise<{ code: number; out: string }> {
  let out = '';
  const stdout = {
    isTTY: false,
    columns: 200,
    write: (c: string) => {
      out += c;
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const stdin = Object.assign(new PassThrough(), { isTTY: answer !== undefined });
  if (answer !== undefined) stdin.end(`${answer}\n`);
  const prompter = { stdin, stderr: { write: () => true } as unknown as NodeJS.WritableStream };
  const [group, ...rest] = argv;
  const code = await runAdminCommand(group!, rest, env, stdout, prompter);
  return { code, out };
}

t.test('org create, list, show and edit', async (t) => {
  const created = await cli(['org', 'create', 'acme', '--display-name', 'Acme Inc']);
  t.equal(created.code, 0);
  t.match(created.out, /acme\s+Acme Inc/);
  t.same((await cli(['org', 'list', '-o', 'name'])).out.trim().split('\n'), ['acme', 'default']);
  t.equal(JSON.parse((await cli(['org', 'show', 'acme', '-o', 'json'])).out).displayName, 'Acme Inc');
  t.match((await cli(['org', 'edit', 'acme', '--display-name', 'ACME'])).out, /ACME/);
  await t.rejects(cli(['org', 'edit', 'acme']), /give --display-name/);
});

t.test('--org places repositories and teams, and filters the lists', async (t) => {
  t.match((await cli(['repo', 'create', 'acme-sensors', '--org', 'acme'])).out, /acme-sensors\s+acme/);
  t.equal((await cli(['team', 'create', 'acme-ops', '--org', 'acme', '--grant', '@acme=query'])).code, 0);
  t.same((await cli(['repo', 'list', '--org', 'acme', '-o', 'name'])).out.trim().split('\n'), ['acme-sensors']);
  t.same((await cli(['team', 'list', '--org', 'acme', '-o', 'name'])).out.trim().split('\n'), ['acme-ops']);
  const token = JSON.parse((await cli(['token', 'create', '--name', 'acme reader', '--repository', '@acme', '--rights', 'query', '-o', 'json'])).out);
  t.equal(token.token.organization, 'acme');
  const shown = (await cli(['token', 'show', 'acme reader'])).out;
  t.match(shown, /@acme \(every repository of acme\)/);
  t.match(shown, /organization:\s+acme/);
  const listed = JSON.parse((await cli(['token', 'list', '--org', 'acme', '-o', 'json'])).out);
  t.same(
    listed.items.map((x: { name: string }) => x.name),
    ['acme reader'],
  );
  t.equal((await cli(['user', 'list', '--org', 'acme', '-o', 'name'])).code, 0);
});

t.test('org delete asks first, and refuses an organization that holds repositories', async (t) => {
  await t.rejects(cli(['org', 'delete', 'acme', '--yes']), /409.*repositories/s);
  await cli(['repo', 'delete', 'acme-sensors', '--yes']);
  const deleted = await cli(['org', 'delete', 'acme'], 'y');
  t.match(deleted.out, /deleted organization acme/);
  t.same((await cli(['org', 'list', '-o', 'name'])).out.trim().split('\n'), ['default']);
});
