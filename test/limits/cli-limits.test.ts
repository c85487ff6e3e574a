import { join } from 'node:path';
import t from 'tap';
import { initAndServe, runAdmin, runToEnd } from '../helpers/cli.js';

// The built CLI against a served Tollgate (file store): limits on token create/edit/show, the
// repository's defaults, and `token usage` as a table and as JSON.

const served = await initAndServe(t, { TOLLGATE_STORE_FILE_PATH: join(t.testdir({}), 'store.jsonl') });
const cliEnv = { TOLLGATE_ADMIN_URL: served.adminUrl, TOLLGATE_TOKEN: served.admin };
// In this process (runAdmin: the CLI's own entry, no process start); the first call is the built CLI as a process.
const cli = (...args: string[]) => runAdmin(args, cliEnv);

t.test('token create takes --rate, --quota and --streams; show and usage print them', async (t) => {
  t.equal((await runToEnd(['repo', 'create', 'sensors'], cliEnv)).code, 0);
  const made = await cli(
    'token',
    'create',
    '--name',
    'scraper',
    '--repository',
    'sensors',
    '--rights',
    'query',
    '--rate',
    '50/1s',
    '--quota',
    '10GiB/1d',
    '--streams',
    '2',
    '--json',
  );
  t.equal(made.code, 0, made.stderr);
  const token = JSON.parse(made.stdout).token;
  t.same(token.limits, { rate: { requests: 50, per: '1s' }, quota: { bytes: 10 * 1024 ** 3, per: '1d' }, streams: 2 });

  const shown = await cli('token', 'show', 'scraper');
  t.equal(shown.code, 0, shown.stderr);
  t.match(shown.stdout, /^limits: +50\/1s, 10GiB\/1d, 2 streams$/m, 'token show prints key: value lines');

  const usage = await cli('token', 'usage', 'scraper');
  t.equal(usage.code, 0, usage.stderr);
  t.match(usage.stdout, /^LIMIT\s+OF\s+USED\s+LEFT\s+RESETS\n/);
  t.match(usage.stdout, /\nrate\s+50\s+0\s+50\s+/);
  t.match(usage.stdout, /\nquota\s+10GiB\s+0B\s+10GiB\s+/);
  t.match(usage.stdout, /\nstreams\s+2\s+0\s+2\s+-/);
  const json = await cli('token', 'usage', 'scraper', '--json');
  const parsed = JSON.parse(json.stdout);
  t.equal(parsed.source, 'token');
  t.same(parsed.rate.limit, 50);
  t.same(parsed.quota.left, 10 * 1024 ** 3);
});

t.test('token edit changes one limit and keeps the others; --no-limits clears them', async (t) => {
  const edited = await cli('token', 'edit', 'scraper', '--streams', '3', '--json');
  t.equal(edited.code, 0, edited.stderr);
  t.same(JSON.parse(edited.stdout).limits, { rate: { requests: 50, per: '1s' }, quota: { bytes: 10 * 1024 ** 3, per: '1d' }, streams: 3 });
  const cleared = await cli('token', 'edit', 'scraper', '--no-limits', '--json');
  t.equal(JSON.parse(cleared.stdout).limits, null);
  const history = await cli('token', 'history', 'scraper');
  t.match(history.stdout, /limits/);
  t.notMatch(history.stdout, /\{"rate"/, 'limits read as rates, not JSON');
  const none = await cli('token', 'usage', 'scraper');
  t.match(none.stdout, /has no limits/);
});

t.test('a bad limit is a usage error naming what is expected', async (t) => {
  const bad = await cli('token', 'create', '--name', 'x', '--repository', 'sensors', '--rights', 'query', '--rate', '50-per-second');
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--rate.*expected REQUESTS\/PER such as 50\/1s/s);
  const window = await cli('token', 'edit', 'scraper', '--rate', '5/2h');
  t.equal(window.code, 1, 'the server refuses a window beyond 1h');
  t.match(window.stderr, /limits\.rate\.per: expected a duration from 1s to 1h/);
});

t.test("repo limits sets the repository's defaults, which its tokens without their own run under", async (t) => {
  const set = await cli('repo', 'limits', 'sensors', '--rate', '10/1s');
  t.equal(set.code, 0, set.stderr);
  t.match(set.stdout, /DEFAULT LIMITS/);
  t.match(set.stdout, /sensors\s.*10\/1s/);
  const usage = JSON.parse((await cli('token', 'usage', 'scraper', '--json')).stdout);
  t.equal(usage.source, 'repository');
  t.equal(usage.rate.limit, 10);
  const cleared = await cli('repo', 'limits', 'sensors', '--no-limits', '--json');
  t.equal(JSON.parse(cleared.stdout).limits, null);
});
