import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { runAdmin, runToEnd } from '../helpers/cli.js';
import { startHarness } from '../helpers/harness.js';
import { makeToken } from '../helpers/records.js';

/** What no printed line may hold raw: C0 but LF, DEL, C1, Unicode's Bidi_Control set, and U+2028/U+2029. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

// A name that clears the screen, returns the cursor to fake a row, and flips text right to left.
const EVIL = 'ok\u001b[2J\u001b[H\r\nFAKE  ROW\u009b31m\u202eexe.txt\u2066';
const EVIL_SHOWN = 'ok\\x1b[2J\\x1b[H\\x0d\\x0aFAKE  ROW\\x9b31m\\u202eexe.txt\\u2066';

const h = await startHarness();
t.teardown(() => h.close());
const cliEnv = { TOLLGATE_ADMIN_URL: h.admin, TOLLGATE_TOKEN: h.adminSecret };
// In this process (runAdmin: the CLI's own entry, the same bytes printed, no process start); the
// error lines at the end come from the built CLI as a process.
const cli = (...args: string[]) => runAdmin(args, cliEnv);

// Straight into the store, as a scoped admin could once name things through the API (which now
// refuses such names): the CLI must be safe whatever the store holds.
const store = h.tollgate.store;
const { record } = makeToken({ name: EVIL, createdBy: `actor${EVIL}`, createdAt: h.clock.now(), updatedAt: h.clock.now() });
await store.createToken(record, { at: h.clock.now(), actor: `actor${EVIL}`, action: 'created', changes: { name: { from: null, to: EVIL } } });
await store.createRepository({ name: `repo${EVIL}`, createdAt: h.clock.now(), createdBy: `by${EVIL}` });
await store.putUser({ name: `user${EVIL}`, grants: { [`sensors${EVIL}`]: ['query'] }, createdAt: h.clock.now(), updatedAt: h.clock.now() });

const isSafe = (text: string) => !UNSAFE.test(text);

t.test('token list prints a name with ESC, CR, LF, C1 and bidi characters as visible escapes, on one row', async (t) => {
  const list = await cli('token', 'list', '--q', 'FAKE');
  t.equal(list.code, 0, list.stderr);
  t.ok(isSafe(list.stdout), 'no raw control or bidi character');
  t.ok(list.stdout.includes(EVIL_SHOWN), 'the name, escaped');
  t.equal(list.stdout.split('\n').filter((line) => line.includes(record.id) && line.includes(EVIL_SHOWN)).length, 1, 'the whole row on one line');
  t.match(list.stdout, /\n1 of 1\n$/);
});

t.test('token show and token history escape every value, the actor and the changes included', async (t) => {
  const show = await cli('token', 'show', record.id);
  t.equal(show.code, 0, show.stderr);
  t.ok(isSafe(show.stdout), show.stdout);
  t.ok(show.stdout.includes(EVIL_SHOWN));
  const history = await cli('token', 'history', record.id);
  t.equal(history.code, 0, history.stderr);
  t.ok(isSafe(history.stdout), history.stdout);
  t.ok(history.stdout.includes(`actor${EVIL_SHOWN}`));
});

t.test('user list and repo list escape names, grants and creators', async (t) => {
  const users = await cli('user', 'list');
  t.equal(users.code, 0, users.stderr);
  t.ok(isSafe(users.stdout), users.stdout);
  t.ok(users.stdout.includes(`user${EVIL_SHOWN}`));
  const repos = await cli('repo', 'list');
  t.equal(repos.code, 0, repos.stderr);
  t.ok(isSafe(repos.stdout), repos.stdout);
  t.ok(repos.stdout.includes(`repo${EVIL_SHOWN}`));
  t.ok(repos.stdout.includes(`by${EVIL_SHOWN}`));
});

t.test('team list and show, user show (teams, effective grants) and the wide token views escape every value', async (t) => {
  const now = h.clock.now();
  await store.putUser({ name: 'carol', grants: {}, createdAt: now, updatedAt: now });
  const team = { name: `team${EVIL}`, members: ['carol', `user${EVIL}`], grants: { [`sensors${EVIL}`]: ['query' as const] }, createdAt: now, updatedAt: now };
  await store.putTeam(team, { at: now, actor: `actor${EVIL}`, action: 'created', changes: {} });
  const teams = await cli('team', 'list');
  t.equal(teams.code, 0, teams.stderr);
  t.ok(isSafe(teams.stdout), teams.stdout);
  t.ok(teams.stdout.includes(`team${EVIL_SHOWN}`) && teams.stdout.includes(`carol,user${EVIL_SHOWN}`) && teams.stdout.includes(`sensors${EVIL_SHOWN}=query`));
  const carol = await cli('user', 'show', 'carol');
  t.equal(carol.code, 0, carol.stderr);
  t.ok(isSafe(carol.stdout), carol.stdout);
  t.ok(carol.stdout.includes(`team${EVIL_SHOWN}`) && carol.stdout.includes(`sensors${EVIL_SHOWN}=query`));

  // A User-Agent reaches the store as latin1, so a device can send U+009B (a one-byte CSI).
  const used = makeToken({ name: 'used', lastUsedAt: now, lastUsedIp: `ip${EVIL}`, lastUsedUserAgent: `ua${EVIL}`, createdAt: now, updatedAt: now }).record;
  await store.createToken(used, { at: now, actor: 'tester', action: 'created', changes: {} });
  for (const args of [
    ['token', 'list', '--wide', '--q', 'used'],
    ['token', 'show', used.id],
  ]) {
    const run = await cli(...args);
    t.equal(run.code, 0, run.stderr);
    t.ok(isSafe(run.stdout), run.stdout);
    t.ok(run.stdout.includes(`ua${EVIL_SHOWN}`) && run.stdout.includes(`ip${EVIL_SHOWN}`), args.join(' '));
  }
});

t.test('--json stays valid JSON with the exact name, and holds no raw C1 or bidi character', async (t) => {
  const list = await cli('token', 'list', '--q', 'FAKE', '--json');
  t.equal(list.code, 0, list.stderr);
  t.ok(isSafe(list.stdout), list.stdout);
  t.equal(JSON.parse(list.stdout).items[0].name, EVIL);
  const users = await cli('user', 'list', '--json');
  t.ok(isSafe(users.stdout));
  t.ok(JSON.parse(users.stdout).items.some((u: { name: string }) => u.name === `user${EVIL}`));
});

t.test('a problem detail or a non-JSON error body from the server is escaped in the error line', async (t) => {
  // A server that answers with hostile text: the CLI prints what it got, so it escapes it too.
  let body = '';
  let type = 'application/problem+json';
  const hostile = createServer((_req, res) => {
    res.writeHead(409, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  t.teardown(() => hostile.close());
  const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  body = JSON.stringify({ title: `Conflict${EVIL}`, detail: `detail${EVIL}` });
  const problem = await runToEnd(['token', 'revoke', 'ffffffffffffffff', '--yes'], { ...cliEnv, TOLLGATE_ADMIN_URL: url });
  t.equal(problem.code, 1);
  t.ok(isSafe(problem.stderr), problem.stderr);
  t.ok(problem.stderr.includes(`409 Conflict${EVIL_SHOWN}: detail${EVIL_SHOWN}`), problem.stderr);
  body = `<html>${EVIL}</html>`;
  type = 'text/html';
  const html = await runToEnd(['token', 'revoke', 'ffffffffffffffff', '--yes'], { ...cliEnv, TOLLGATE_ADMIN_URL: url });
  t.equal(html.code, 1);
  t.ok(isSafe(html.stderr), html.stderr);
  t.match(html.stderr, /^tollgate: 409 /);
});
