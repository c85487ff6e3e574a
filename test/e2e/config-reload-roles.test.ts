import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import type { Running } from '../helpers/cli.js';
import { startRedis } from '../helpers/redis-server.js';
import { redisReplicaEnv, serveRole } from '../helpers/roles.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

// Reloading a replica started with `serve --role`: the option is laid over the file again on
// each reload, so the role is never taken for a changed key; the proxy replica applies what the
// file changes, and a control replica takes the proxy's keys in silence.
const redis = await startRedis();
t.teardown(() => redis.stop());
const dir = t.testdir({ 'tollgate.yaml': 'log:\n  level: info\n' });
const file = join(dir, 'tollgate.yaml');
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const env = redisReplicaEnv(redis.url, { TOLLGATE_CONFIG: file, TOLLGATE_PROXY_UPSTREAM: upstream.origin });

const lines = (run: Running, msg: string) =>
  run
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === msg);
const WARNING = 'configuration keys changed that take effect only after a restart; their running values are kept';

t.test('serve --role proxy and --role control reload without taking the role for a change', async (t) => {
  const proxy = await serveRole(t, 'proxy', env);
  const control = await serveRole(t, 'control', env);
  for (const replica of [proxy, control]) replica.run.child.kill('SIGHUP');
  for (const replica of [proxy, control]) {
    await waitFor(() => lines(replica.run, 'configuration reloaded: nothing to apply').length === 1, { what: 'SIGHUP to find nothing to apply' });
  }
  writeFileSync(file, 'log:\n  level: info\nroutes:\n  - { path: /open/**, public: true }\n');
  for (const replica of [proxy, control]) {
    await waitFor(() => lines(replica.run, 'configuration reloaded').length === 1, { what: 'the file change to be applied' });
    t.same(lines(replica.run, 'configuration reloaded')[0]!.changed, ['routes']);
    t.same(lines(replica.run, WARNING), [], 'no key is waiting for a restart');
  }
  const metrics = await (await request(`${proxy.adminUrl}/metrics`)).body.text();
  t.match(metrics, /^tollgate_config_generation 2$/m);
  t.equal((await request(`${proxy.proxyUrl}/open/x`)).statusCode, 200, 'the new public route is served');
});
