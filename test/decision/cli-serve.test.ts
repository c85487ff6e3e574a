import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { runCli, runToEnd } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';

// The built CLI (npm run build first): `serve` opens the decision port when asked, says where in
// its "tollgate listening" line, answers on it, and takes it down on SIGTERM with the rest.

const upstream = await startUpstream();
t.teardown(() => upstream.close());

t.test('serve opens the decision port, answers on it, and closes it on SIGTERM', async (t) => {
  const env = {
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_DECISION_LISTEN: '127.0.0.1:0',
    TOLLGATE_PROXY_ACCESS_LOG: 'false',
    TOLLGATE_PROXY_UPSTREAM: upstream.origin,
    TOLLGATE_STORE_FILE_PATH: join(t.testdir({}), 'store.jsonl'),
  };
  const init = await runToEnd(['init-admin'], env);
  const admin = /^(tgr_\w{49})$/m.exec(init.stdout)?.[1];
  t.ok(admin, 'init-admin printed a secret');
  const run = runCli(['serve'], env);
  t.teardown(() => run.child.kill('SIGKILL'));
  const listening = (await run.logLine('tollgate listening')) as { decisionPort?: number; proxyPort: number };
  t.type(listening.decisionPort, 'number', 'the decision port is in the listening line');
  const decision = `http://127.0.0.1:${listening.decisionPort}`;

  const allowed = await request(`${decision}/auth`, {
    headers: { authorization: `Bearer ${admin}`, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/v1/repositories/sensors/query' },
  });
  await allowed.body.dump();
  t.equal(allowed.statusCode, 200);
  t.equal(allowed.headers['x-tollgate-right'], 'query');

  run.child.kill('SIGTERM');
  t.equal(await run.exited, 0, 'exits 0 with the decision port open');
  const after = await request(`${decision}/auth`, { headers: { 'x-forwarded-uri': '/' } }).catch((err: NodeJS.ErrnoException) => err);
  t.equal((after as NodeJS.ErrnoException).code, 'ECONNREFUSED', 'the port is closed');
});

t.test('serve without decision.listen opens no decision port', async (t) => {
  const env = {
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_PROXY_UPSTREAM: upstream.origin,
    TOLLGATE_STORE_FILE_PATH: join(t.testdir({}), 'store.jsonl'),
  };
  const run = runCli(['serve'], env);
  t.teardown(() => run.child.kill('SIGKILL'));
  const listening = (await run.logLine('tollgate listening')) as { decisionPort?: number };
  t.equal(listening.decisionPort, undefined);
  run.child.kill('SIGTERM');
  t.equal(await run.exited, 0);
});

t.test('a bad decision.listen exits 2 naming the key', async (t) => {
  const res = await runToEnd(['serve'], { TOLLGATE_DECISION_LISTEN: 'nowhere', TOLLGATE_STORE_BACKEND: 'memory' });
  t.equal(res.code, 2);
  t.match(res.stderr, /decision\.listen: expected host:port/);
});
