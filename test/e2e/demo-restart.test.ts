import { existsSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { runCli, runToEnd } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

// The quickstart's second run, busy ports and failed starts: what issue #22 found wrong.

const quiet = { TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_PROXY_ACCESS_LOG: 'false' };

/** A port something else holds for the length of the test. */
async function busyPort(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

/** Runs the demo until its banner is out; returns the secrets and URLs it printed, and stops it. */
async function demoRun(t: { teardown(fn: () => unknown): void }, cwd: string, env: Record<string, string>) {
  const demo = runCli(['demo', '--upstream-port', '0'], env, cwd);
  t.teardown(() => demo.child.kill('SIGKILL'));
  await waitFor(() => demo.stdout().includes('token list') || demo.child.exitCode !== null, { what: 'the demo banner', timeoutMs: 15_000 });
  const out = demo.stdout();
  const exported = /^ {2}export TOLLGATE_ADMIN_URL=(http:\/\/127\.0\.0\.1:\d+) TOLLGATE_TOKEN=(tgr_\w{49})$/m.exec(out);
  if (!exported) throw new Error(`no export line: ${out}${demo.stderr()}`);
  return {
    out,
    adminUrl: exported[1]!,
    admin: exported[2]!,
    stop: async () => {
      demo.child.kill('SIGINT');
      return demo.exited;
    },
  };
}

const whoami = async (adminUrl: string, secret: string) => {
  const res = await request(`${adminUrl}/v1/whoami`, { headers: { authorization: `Bearer ${secret}` } });
  return { status: res.statusCode, body: (await res.body.json()) as { token: { name: string } } };
};

t.test('the demo prints the page, an export line, no log line above its banner; TOLLGATE_STORE_FILE_PATH is honoured', async (t) => {
  const cwd = t.testdir({});
  const path = join(cwd, 'elsewhere.jsonl');
  const first = await demoRun(t, cwd, { ...quiet, TOLLGATE_STORE_FILE_PATH: path });
  t.match(first.out, /^\nTollgate demo is running/, 'the banner comes first: no JSON log line above it');
  t.notMatch(first.out.slice(0, first.out.indexOf('token list')), /^\{/m);
  t.match(first.out, new RegExp(`^ {2}page {3}${first.adminUrl}/ui/ `, 'm'));
  t.match(first.out, `store  file ${path}`);
  t.ok(existsSync(path), 'the store is where the variable says');
  t.notOk(existsSync(join(cwd, 'data', 'demo.jsonl')));
  t.equal((await whoami(first.adminUrl, first.admin)).body.token.name, 'demo admin', 'the exported token works for the CLI');
  t.equal(await first.stop(), 0);

  // The second run cannot show the old secrets (they are not stored): it replaces them, and says so.
  const second = await demoRun(t, cwd, { ...quiet, TOLLGATE_STORE_FILE_PATH: path });
  t.match(second.out, /\(revoked and deleted 2 tokens of an earlier demo run\)/);
  t.equal((await whoami(second.adminUrl, first.admin)).status, 401, 'the first admin token no longer works');
  const list = await request(`${second.adminUrl}/v1/tokens?status=active`, { headers: { authorization: `Bearer ${second.admin}` } });
  const items = ((await list.body.json()) as { items: Array<{ name: string; expiresAt: string | null }> }).items;
  t.same(items.map((i) => i.name).sort(), ['demo admin', 'demo producer'], 'two tokens, not four');
  t.ok(
    items.every((i) => i.expiresAt !== null),
    'none that never expires',
  );
  t.equal(await second.stop(), 0);
});

t.test('a busy demo upstream port is moved with --upstream-port, and the message says so', async (t) => {
  const port = await busyPort(t);
  const run = await runToEnd(['demo', '--upstream-port', String(port)], quiet, t.testdir({}));
  t.equal(run.code, 1);
  t.match(run.stderr, new RegExp(`^tollgate: port ${port} \\(the demo upstream\\) is in use; move it with --upstream-port`));
});

t.test('a busy admin port names TOLLGATE_ADMIN_LISTEN, and the failed start leaves no lock file', async (t) => {
  const port = await busyPort(t);
  const cwd = t.testdir({});
  const store = join(cwd, 's.jsonl');
  const demo = await runToEnd(['demo', '--upstream-port', '0'], { ...quiet, TOLLGATE_ADMIN_LISTEN: `127.0.0.1:${port}`, TOLLGATE_STORE_FILE_PATH: store }, cwd);
  t.equal(demo.code, 1);
  t.match(demo.stderr, new RegExp(`port ${port} is in use; move it with TOLLGATE_ADMIN_LISTEN`));
  t.notOk(existsSync(`${store}.lock`), 'demo: no lock left');
  const serve = await runToEnd(['serve'], { ...quiet, TOLLGATE_PROXY_LISTEN: `127.0.0.1:${port}`, TOLLGATE_STORE_FILE_PATH: store }, cwd);
  t.equal(serve.code, 1);
  t.match(
    serve.stderr,
    new RegExp(`port ${port} is in use; move it with TOLLGATE_PROXY_LISTEN \\(proxy\\.listen\\), e\\.g\\. TOLLGATE_PROXY_LISTEN=127\\.0\\.0\\.1:\\d+`),
  );
  t.notOk(existsSync(`${store}.lock`), 'serve: no lock left');
  t.ok(existsSync(store), 'the store was opened, so a lock was taken and given back');
});

t.test('the demo admin makes a 30-day token, and it outlives a demo restart (tokens an admin makes are independent)', async (t) => {
  const cwd = t.testdir({});
  const env = { ...quiet, TOLLGATE_STORE_FILE_PATH: join(cwd, 'demo.jsonl') };
  const first = await demoRun(t, cwd, env);
  const made = await request(`${first.adminUrl}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'repository', name: 'thirty days', repository: 'sensors', rights: ['query'], expiresIn: '30d' }),
  });
  const created = (await made.body.json()) as { token: { id: string; lent: boolean } };
  t.equal(made.statusCode, 201, JSON.stringify(created));
  t.equal(created.token.lent, false);
  t.equal(await first.stop(), 0);

  const second = await demoRun(t, cwd, env);
  t.match(second.out, /\(revoked and deleted 2 tokens of an earlier demo run\)/, "only the demo's own two");
  const kept = await request(`${second.adminUrl}/v1/tokens/${created.token.id}`, { headers: { authorization: `Bearer ${second.admin}` } });
  t.match(await kept.body.json(), { name: 'thirty days', status: 'active' }, 'not revoked with the old demo admin');
  t.equal(await second.stop(), 0);
});
