import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { runCli, runToEnd } from '../helpers/cli.js';
import { startRedis } from '../helpers/redis-server.js';
import { startUpstream } from '../helpers/upstream.js';

const redis = await startRedis();
t.teardown(() => redis.stop());
const upstream = await startUpstream();
t.teardown(() => upstream.close());

const listenEnv = {
  TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
  TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
  TOLLGATE_PROXY_UPSTREAM: upstream.origin,
  TOLLGATE_PROXY_ACCESS_LOG: 'false',
};

t.test('a bad config exits 2 before listening, one line per fault naming the key', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'cache:\n  ttl: thirty\nproxy:\n  colour: red\n' });
  const run = await runToEnd(['serve', '--config', join(dir, 'bad.yaml')]);
  t.equal(run.code, 2);
  t.match(run.stderr, /cache\.ttl: expected a duration such as 250ms, 30s, 5m or 30d, got "thirty"/);
  t.match(run.stderr, /proxy\.colour: unknown key/);
  t.notMatch(run.stdout, /listening/);
});

t.test('a bad environment override exits 2 naming the key', async (t) => {
  const run = await runToEnd(['serve'], { TOLLGATE_STORE_BACKEND: 'postgres' }, t.testdir({}));
  t.equal(run.code, 2);
  t.match(run.stderr, /store\.backend: expected one of file, redis, memory, got "postgres"/);
});

t.test('a duration a timer cannot hold, set through the environment, exits 2 naming the key and the range', async (t) => {
  const run = await runToEnd(['serve'], { ...listenEnv, TOLLGATE_CACHE_LAST_USED_INTERVAL: '30d', TOLLGATE_PROXY_SHUTDOWN_GRACE: '30d' }, t.testdir({}));
  t.equal(run.code, 2);
  t.match(run.stderr, /^ {2}cache\.lastUsedInterval: expected a duration from 1s to 1h, got "30d"$/m);
  t.match(run.stderr, /^ {2}proxy\.shutdownGrace: expected a duration from 100ms to 1h, got "30d"$/m);
  t.notMatch(run.stderr, /TimeoutOverflowWarning/);
});

t.test('a route path with a dot segment exits 2 naming the route', async (t) => {
  const dir = t.testdir({ 'routes.yaml': 'routes:\n  - { path: /health, public: true }\n  - { path: /v1/repositories/:repository/../admin }\n' });
  const run = await runToEnd(['serve', '--config', join(dir, 'routes.yaml')], listenEnv);
  t.equal(run.code, 2);
  // A value read from the file names the file and line it stands on.
  t.match(run.stderr, /^ {2}routes\.1\.path: .*got "\/v1\/repositories\/:repository\/\.\.\/admin" \(\S+routes\.yaml:3\)$/m);
  t.notMatch(run.stdout, /listening/);
});

t.test('bad usage exits 2 with the mistake and where the help is', async (t) => {
  const unknown = await runToEnd(['frobnicate']);
  t.equal(unknown.code, 2);
  t.equal(unknown.stderr, 'tollgate: unknown command "frobnicate"\nRun \'tollgate --help\' for usage.\n', 'one line to the help, not the help');
  const option = await runToEnd(['serve', '--colour']);
  t.equal(option.code, 2);
  t.match(option.stderr, /unknown option --colour/);
  const help = await runToEnd(['--help']);
  t.equal(help.code, 0);
});

t.test('init-admin then serve on Redis: the printed secret administers, tokens work, SIGTERM exits 0', async (t) => {
  const env = { ...listenEnv, TOLLGATE_STORE_BACKEND: 'redis', TOLLGATE_STORE_REDIS_URL: redis.url, TOLLGATE_STORE_REDIS_KEY_PREFIX: 'e2e:' };
  const init = await runToEnd(['init-admin', '--name', 'root'], env);
  t.equal(init.code, 0, init.stderr);
  const secret = /^(tgr_[0-9A-Za-z]{49})$/m.exec(init.stdout)?.[1];
  t.ok(secret, 'the secret is printed');

  const serve = runCli(['serve'], env);
  t.teardown(() => serve.child.kill('SIGKILL'));
  const listening = await serve.logLine('tollgate listening');
  const admin = `http://127.0.0.1:${listening.adminPort}`;
  const proxy = `http://127.0.0.1:${listening.proxyPort}`;
  const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };

  const repo = await request(`${admin}/v1/repositories`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'sensors' }) });
  t.equal(repo.statusCode, 201);
  await repo.body.dump();
  const created = await request(`${admin}/v1/tokens`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ kind: 'repository', name: 'reader', repository: 'sensors', rights: ['query'] }),
  });
  t.equal(created.statusCode, 201);
  const { secret: reader } = (await created.body.json()) as { secret: string };

  const ok = await request(`${proxy}/v1/repositories/sensors/query`, { headers: { authorization: `Bearer ${reader}` } });
  t.equal(ok.statusCode, 200);
  await ok.body.dump();
  const none = await request(`${proxy}/v1/repositories/sensors/query`);
  t.equal(none.statusCode, 401);
  await none.body.dump();
  const write = await request(`${proxy}/v1/repositories/sensors/stream`, { method: 'POST', body: 'x', headers: { authorization: `Bearer ${reader}` } });
  t.equal(write.statusCode, 403);
  await write.body.dump();

  serve.child.kill('SIGTERM');
  t.equal(await serve.exited, 0);
  // Audit lines carry a requestId too; an access line is any other line that does.
  const logged = serve
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"requestId"'));
  t.same(
    logged.filter((l) => !l.includes('"audit":true')),
    [],
    'accessLog false: no access lines',
  );
  t.equal(logged.length, 2, 'the two admin changes are audited whatever accessLog says');
  t.notOk(serve.stdout().includes(reader.slice(4)), 'no secret in the logs');
  t.notOk(serve.stdout().includes(secret!.slice(4)));
});

t.test('access log: one line per request, with no secret; accessLog false turns it off', async (t) => {
  const dir = t.testdir({});
  const env = { ...listenEnv, TOLLGATE_PROXY_ACCESS_LOG: 'true', TOLLGATE_STORE_FILE_PATH: join(dir, 's.jsonl') };
  const serve = runCli(['serve'], env);
  t.teardown(() => serve.child.kill('SIGKILL'));
  const listening = await serve.logLine('tollgate listening');
  const secret = `tgr_${'A'.repeat(49)}`;
  const res = await request(`http://127.0.0.1:${listening.proxyPort}/v1/repositories/sensors/query`, { headers: { authorization: `Bearer ${secret}` } });
  await res.body.dump();
  serve.child.kill('SIGTERM');
  await serve.exited;
  const lines = serve
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"requestId"'));
  t.equal(lines.length, 1);
  t.match(JSON.parse(lines[0]!), { status: 401, outcome: 'unauthenticated', path: '/v1/repositories/sensors/query' });
  t.notOk(serve.stdout().includes(secret));
});

t.test('a second serve on the same file store refuses to start', async (t) => {
  const dir = t.testdir({});
  const env = { ...listenEnv, TOLLGATE_STORE_FILE_PATH: join(dir, 'tollgate.jsonl') };
  const first = runCli(['serve'], env);
  t.teardown(() => first.child.kill('SIGKILL'));
  await first.logLine('tollgate listening');
  const second = await runToEnd(['serve'], env);
  t.equal(second.code, 1);
  t.match(second.stderr, /is in use by process \d+; the file store serves one process only/);
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0);
});
