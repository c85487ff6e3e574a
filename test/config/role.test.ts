import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { runToEnd } from '../helpers/cli.js';
import { faultsOf } from '../helpers/config.js';

const load = (env: Record<string, string>) => loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env });
const onRedis = { TOLLGATE_STORE_BACKEND: 'redis' };

t.test('the role is all unless set', async (t) => {
  t.equal(load({}).role, 'all');
});

t.test('TOLLGATE_ROLE sets the role on a shared store', async (t) => {
  t.equal(load({ ...onRedis, TOLLGATE_ROLE: 'proxy' }).role, 'proxy');
  t.equal(load({ ...onRedis, TOLLGATE_ROLE: 'control' }).role, 'control');
  t.equal(load({ TOLLGATE_STORE_BACKEND: 'memory', TOLLGATE_ROLE: 'proxy' }).role, 'proxy', 'the memory store is for tests and allowed');
});

t.test('an unknown role is a fault naming the key and the roles allowed', async (t) => {
  t.same(
    faultsOf(() => load({ ...onRedis, TOLLGATE_ROLE: 'sidecar' })),
    ['role: expected one of all, proxy, control, got "sidecar"'],
  );
});

t.test('proxy and control on the file store are a fault naming the role and the store', async (t) => {
  for (const role of ['proxy', 'control']) {
    const faults = faultsOf(() => load({ TOLLGATE_ROLE: role }));
    t.equal(faults.length, 1);
    t.match(faults[0], /^role: expected all with store\.backend file .*set store\.backend to redis, got "(proxy|control)"$/);
  }
});

t.test('serve --role with a bad value exits 2 naming --role before anything starts', async (t) => {
  const run = await runToEnd(['serve', '--role', 'sidecar'], onRedis);
  t.equal(run.code, 2);
  t.match(run.stderr, /--role.*expected one of all, proxy, control, got "sidecar"/);
});

t.test('serve --role proxy on the file store exits 2 naming role and the store', async (t) => {
  const run = await runToEnd(['serve', '--role', 'proxy'], { TOLLGATE_STORE_FILE_PATH: '/nonexistent/never-opened.jsonl' });
  t.equal(run.code, 2);
  t.match(run.stderr, /invalid configuration\n {2}role: expected all with store\.backend file/);
});

t.test('serve --role wins over TOLLGATE_ROLE', async (t) => {
  const run = await runToEnd(['serve', '--role', 'control'], { TOLLGATE_ROLE: 'all', TOLLGATE_STORE_FILE_PATH: '/nonexistent/never-opened.jsonl' });
  t.equal(run.code, 2, 'control on the file store is refused: the option was read');
  t.match(run.stderr, /got "control"/);
});
