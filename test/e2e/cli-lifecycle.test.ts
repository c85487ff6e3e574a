import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { initAndServe, MAIN, runAdmin, runToEnd } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue #18 through the built CLI against a real server: teams, roll, leak reports, expiring
// soon, last use in the wide views, personal tokens without --repository, teams in user show.

const upstream = await startUpstream();
t.teardown(() => upstream.close());
const dir = t.testdir({});
const served = await initAndServe(t, {
  TOLLGATE_STORE_FILE_PATH: join(dir, 'store.jsonl'),
  TOLLGATE_PROXY_UPSTREAM: upstream.origin,
  TOLLGATE_CACHE_LAST_USED_INTERVAL: '1s',
});
const cliEnv = { TOLLGATE_ADMIN_URL: served.adminUrl, TOLLGATE_TOKEN: served.admin };
// The commands run in this process (runAdmin: the CLI's own entry, no process start); the
// runToEnd and withStdin calls in the leak tests run the built CLI as a process.
const cli = (...args: string[]) => runAdmin(args, cliEnv);
const cliJson = async (...args: string[]) => {
  const run = await cli(...args, '--json');
  if (run.code !== 0) throw new Error(`${args.join(' ')}: exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout);
};
const proxied = async (secret: string, headers: Record<string, string> = {}) => {
  const res = await request(`${served.proxyUrl}/v1/repositories/sensors/data`, { headers: { authorization: `Bearer ${secret}`, ...headers } });
  await res.body.dump();
  return res.statusCode;
};

/** The built CLI with `input` on stdin (runToEnd gives it none). */
function withStdin(args: string[], env: Record<string, string>, input: string) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_') && k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE'));
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  child.stdin.end(input);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

t.before(async () => {
  for (const args of [
    ['repo', 'create', 'sensors'],
    ['user', 'create', 'alice', '--grant', 'sensors=query'],
    ['user', 'create', 'bob'],
  ]) {
    const run = await cli(...args);
    if (run.code !== 0) throw new Error(run.stderr);
  }
});

t.test('team create, list, show, edit, history and delete; user show names teams and effective grants', async (t) => {
  const made = await cli('team', 'create', 'platform', '--member', 'bob', '--grant', 'sensors=query');
  t.equal(made.code, 0, made.stderr);
  t.match(made.stdout, /^NAME\s+MEMBERS\s+GRANTS\s+CREATED\s+UPDATED\nplatform\s+bob\s+sensors=query\s+just now\s+just now\n$/);
  // Independent reads and refusals run side by side: each is a process of its own.
  const [list, show, bob, bobJson] = await Promise.all([
    cli('team', 'list'),
    cliJson('team', 'show', 'platform'),
    cli('user', 'show', 'bob'),
    cliJson('user', 'show', 'bob'),
  ]);
  t.match(list.stdout, /\nplatform\s+bob\s+sensors=query\s/);
  t.match(show, { name: 'platform', members: ['bob'], grants: { sensors: ['query'] } });
  t.equal(bob.code, 0, bob.stderr);
  t.match(bob.stdout, /^NAME\s+GRANTS\s+TEAMS\s+EFFECTIVE GRANTS\s+CREATED\s+UPDATED\nbob\s+-\s+platform\s+sensors=query\s/);
  t.match(bobJson, { grants: {}, teams: ['platform'], effectiveGrants: { sensors: ['query'] } });

  const grants = await cli('team', 'edit', 'platform', '--grant', 'sensors=query,stream');
  t.equal(grants.code, 0, grants.stderr);
  t.match(grants.stdout, /\nplatform\s+bob\s+sensors=query,stream\s/, 'the members stay when only grants are given');
  const members = await cli('team', 'edit', 'platform', '--no-members');
  t.match(members.stdout, /\nplatform\s+-\s+sensors=query,stream\s/, 'the grants stay when only members are given');
  t.match(await cliJson('team', 'edit', 'platform', '--member', 'alice', '--member', 'bob', '--no-grants'), { members: ['alice', 'bob'], grants: {} });

  const [nothing, both, badGrant, ghosts] = await Promise.all([
    cli('team', 'edit', 'platform'),
    cli('team', 'edit', 'platform', '--member', 'bob', '--no-members'),
    cli('team', 'create', 'bad', '--grant', 'sensors'),
    cli('team', 'create', 'ghosts', '--member', 'nobody'),
  ]);
  t.equal(nothing.code, 2);
  t.match(nothing.stderr, /nothing to change: give --member, --no-members, --grant or --no-grants/);
  t.match(nothing.stderr, /\nRun 'tollgate team edit --help' for usage\.\n$/);
  t.equal(both.code, 2);
  t.match(both.stderr, /give --member or --no-members, not both/);
  t.equal(badGrant.code, 2, 'the --grant syntax of user create');
  t.equal(ghosts.code, 1);
  t.match(ghosts.stderr, /400 .*members\.0: no user named nobody/);

  const history = await cli('team', 'history', 'platform');
  t.equal(history.code, 0, history.stderr);
  t.match(history.stdout, /^AT\s+WHEN\s+ACTOR\s+ACTION\s+CHANGES\n[^\n]*created[^\n]*\n[^\n]*edited[^\n]*\n[^\n]*edited[^\n]*\n[^\n]*edited[^\n]*\n$/);
  const deleted = await cli('team', 'delete', 'platform', '--yes');
  t.equal(deleted.code, 0, deleted.stderr);
  t.equal(deleted.stdout, 'deleted team platform\n');
  const [gone, after, bobAfter] = await Promise.all([cli('team', 'show', 'platform'), cliJson('team', 'history', 'platform'), cliJson('user', 'show', 'bob')]);
  t.equal(gone.code, 1);
  t.match(gone.stderr, /404/);
  t.equal(after.items.length, 5, 'the history stays after delete');
  t.match(bobAfter, { teams: [], effectiveGrants: {} });
});

t.test('token create: a personal token needs no --repository, a repository token does (exit 2)', async (t) => {
  const personal = await cli('token', 'create', '--kind', 'personal', '--user', 'alice', '--name', 'phone', '--rights', 'query');
  t.equal(personal.code, 0, personal.stderr);
  t.match(personal.stdout, /phone\s+personal\s+\*\s+active/);
  t.match(personal.stdout, /Secret \(shown once, store it now\):\ntgp_\w{49}\n/);
  const secret = /^(tgp_\w{49})$/m.exec(personal.stdout)![1]!;
  t.equal(await proxied(secret), 200, "it covers alice's repositories");
  const missing = await cli('token', 'create', '--name', 'x', '--rights', 'query');
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--repository is required for a repository token/);
  t.match(missing.stderr, /\nRun 'tollgate token create --help' for usage\.\n$/);
});

t.test('token roll prints the new secret once and says when the old one stops working', async (t) => {
  const old = await cliJson('token', 'create', '--name', 'ingest', '--repository', 'sensors', '--rights', 'query', '--expires-in', '30d');
  const rolled = await cli('token', 'roll', old.token.id, '--overlap', '24h', '--yes');
  t.equal(rolled.code, 0, rolled.stderr);
  t.match(
    rolled.stdout,
    /^ID\s+NAME\s+KIND[^\n]*\n[0-9a-f]{16}\s+ingest\s+repository\s+sensors\s[^\n]*in 30 days[^\n]*\n\nSecret \(shown once, store it now\):\ntgr_\w{49}\n/,
  );
  t.match(
    rolled.stdout,
    new RegExp(`\\nThe old secret \\(token ${old.token.id}\\) stops working at [A-Z][a-z]{2} \\d{1,2}, \\d{4} \\d\\d:\\d\\d UTC \\(in 1 day\\)\\.\\n$`),
  );
  const secret = /^(tgr_\w{49})$/m.exec(rolled.stdout)![1]!;
  t.not(secret, old.secret);
  t.equal(await proxied(old.secret), 200, 'the old secret works during the overlap');
  t.equal(await proxied(secret), 200);

  const newId = (await cliJson('token', 'list', '--q', secret)).items[0].id as string; // a whole secret finds its token
  const again = await cliJson('token', 'roll', newId, '--yes');
  t.match(again, { secret: /^tgr_/, token: { name: 'ingest' }, previous: { status: 'revoked' } });
  t.equal(await proxied(secret), 401, 'no overlap: the old secret stops at once');
  t.equal(await proxied(again.secret), 200);

  const now = await cliJson('token', 'create', '--name', 'n', '--repository', 'sensors', '--rights', 'query');
  const atOnce = await cli('token', 'roll', now.token.id, '--yes');
  t.equal(atOnce.code, 0, atOnce.stderr);
  t.match(atOnce.stdout, `\nThe old secret (token ${now.token.id}) was revoked: it stopped working now.\n`);

  const revoked = await cli('token', 'roll', now.token.id, '--yes');
  t.equal(revoked.code, 1, 'only an active token rolls');
  t.match(revoked.stderr, /409/);
  const bad = await cli('token', 'roll', now.token.id, '--overlap', 'soon', '--yes');
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--overlap: expected a duration such as 0s, 1h or 24h/);
  const tooLong = await cli('token', 'roll', again.token.id, '--overlap', '31d', '--yes');
  t.equal(tooLong.code, 1);
  t.match(tooLong.stderr, /400 .*overlap: expected at most 30d/);
});

t.test('token list --expiring maps to expiresWithin', async (t) => {
  const soon = await cliJson('token', 'create', '--name', 'soon', '--repository', 'sensors', '--rights', 'query', '--expires-in', '2d');
  const later = await cliJson('token', 'create', '--name', 'later', '--repository', 'sensors', '--rights', 'query', '--expires-in', '30d');
  const ids = (await cliJson('token', 'list', '--expiring', '3d', '--limit', '500')).items.map((i: { id: string }) => i.id);
  t.ok(ids.includes(soon.token.id));
  t.notOk(ids.includes(later.token.id));
  const table = await cli('token', 'list', '--expiring', '3d', '--q', 'soon');
  t.match(table.stdout, new RegExp(`${soon.token.id}\\s+soon\\s[^\\n]*in 2 days`), '--expires-in 2d reads in 2 days, as people count');
  t.equal((await cli('token', 'list', '--expiring', 'soon')).code, 2, 'a non-duration is bad usage, refused before any request');
});

t.test('token list --wide and token show give the last use: time, address, User-Agent', async (t) => {
  const made = await cliJson('token', 'create', '--name', 'sensor-17', '--repository', 'sensors', '--rights', 'query');
  t.equal(await proxied(made.secret, { 'user-agent': 'sensor-fw/4.2' }), 200);
  await waitFor(async () => (await cliJson('token', 'show', made.token.id)).lastUsedIp !== null, {
    what: 'the last use to be written',
    timeoutMs: 10_000,
    everyMs: 200,
  });
  const view = await cliJson('token', 'show', made.token.id);
  // Made by an admin: independent, bound to no parent (createdBy names who made it).
  t.match(view, { lastUsedIp: '127.0.0.1', lastUsedUserAgent: 'sensor-fw/4.2', lent: false, parentId: null });

  const wide = await cli('token', 'list', '--q', 'sensor-17', '--wide');
  t.equal(wide.code, 0, wide.stderr);
  const [header, row] = wide.stdout.split('\n');
  t.match(header, /LAST USED\s+LAST USED AT\s+LAST IP\s+LAST USER AGENT\s+PARENT\s+LIMITS$/);
  t.match(row, /just now\s+\d{4}-\d\d-\d\dT\S+\s+127\.0\.0\.1\s+sensor-fw\/4\.2\s+-(\s|$)/);
  t.equal(header!.indexOf('LAST IP'), row!.indexOf('127.0.0.1'), 'columns line up');
  const narrow = await cli('token', 'list', '--q', 'sensor-17');
  t.notMatch(narrow.stdout, /LAST IP|127\.0\.0\.1|sensor-fw/, 'the default list stays narrow');
  const show = await cli('token', 'show', made.token.id);
  t.match(show.stdout, /^last used: +[A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC \(just now\) from 127\.0\.0\.1 \(sensor-fw\/4\.2\)$/m);
  t.match(show.stdout, /^parent: +-$/m, 'independent: no parent');
});

t.test('token leaked: from a file or stdin, no TOLLGATE_TOKEN needed, prints the counts', async (t) => {
  const leaked = await cliJson('token', 'create', '--name', 'leaky', '--repository', 'sensors', '--rights', 'query');
  const file = join(dir, 'leaked.txt');
  writeFileSync(file, `${leaked.secret}\n\n  tgr_nothing  \n`);
  const noToken = { TOLLGATE_ADMIN_URL: served.adminUrl };
  const report = await runToEnd(['token', 'leaked', '--file', file], noToken);
  t.equal(report.code, 0, report.stderr);
  t.equal(report.stdout, 'received 2, revoked 1\n');
  t.equal(await proxied(leaked.secret), 401);
  t.match((await cliJson('token', 'history', leaked.token.id)).items.at(-1), { action: 'leaked', actor: 'leak-report' });

  const piped = await withStdin(['token', 'leaked', '--json'], noToken, `${leaked.secret}\r\n`);
  t.equal(piped.code, 0, piped.stderr);
  t.same(JSON.parse(piped.stdout), { received: 1, revoked: 0, complete: true }, 'already revoked');

  writeFileSync(join(dir, 'empty.txt'), '\n\n');
  const empty = await runAdmin(['token', 'leaked', '--file', join(dir, 'empty.txt')], noToken);
  t.equal(empty.code, 2);
  t.match(empty.stderr, /no secrets given/);
  const missing = await runAdmin(['token', 'leaked', '--file', join(dir, 'nope.txt')], noToken);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--file: cannot read .*ENOENT/);
  t.equal((await runAdmin(['token', 'list'], noToken)).code, 2, 'other commands still need TOLLGATE_TOKEN');
});

t.test('token leaked sends at most 1000 secrets a call, and says how far it got when refused', async (t) => {
  // A server of its own: the leak budget (1000 secrets a minute per address) is spent here.
  const other = await initAndServe(t, { TOLLGATE_STORE_FILE_PATH: join(t.testdir({}), 'store.jsonl'), TOLLGATE_PROXY_UPSTREAM: upstream.origin });
  const file = join(dir, 'many.txt');
  writeFileSync(file, Array.from({ length: 1500 }, (_, i) => `tgr_x${i}`).join('\n'));
  const run = await runToEnd(['token', 'leaked', '--file', file], { TOLLGATE_ADMIN_URL: other.adminUrl });
  t.equal(run.code, 1, 'the second call is over the budget');
  t.equal(run.stdout, 'received 1000, revoked 0 (of 1500 secrets; the rest were not reported)\n', 'the first call took 1000');
  t.match(run.stderr, /429 Too many requests: leak reports are limited per client address/);
});
