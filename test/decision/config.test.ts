import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { faultsOf, fromYaml } from '../helpers/config.js';

t.test('the decision port is off by default', async (t) => {
  const config = loadConfig({ path: '/nonexistent/tollgate.yaml', required: false, env: {} });
  t.equal(config.decision.listen, null);
  t.equal(config.decision.pathPrefix, '');
});

t.test('decision.listen and decision.pathPrefix from the file and the environment', async (t) => {
  const config = fromYaml(t, 'decision:\n  listen: 127.0.0.1:8081\n', { TOLLGATE_DECISION_PATH_PREFIX: '/tollgate-check' });
  t.same(config.decision.listen, { host: '127.0.0.1', port: 8081 });
  t.equal(config.decision.pathPrefix, '/tollgate-check');
  t.same(fromYaml(t, 'decision:\n  listen: "[::1]:8081"\n').decision.listen, { host: '::1', port: 8081 });
});

t.test('a bad decision key is a fault naming it', async (t) => {
  const faults = faultsOf(() => fromYaml(t, 'decision:\n  listen: 8081\n  pathPrefix: check/\n  colour: red\n'));
  t.match(faults.join('\n'), /decision\.listen: expected host:port such as 127\.0\.0\.1:8081, or "" for off, got 8081/);
  t.match(faults.join('\n'), /decision\.pathPrefix: expected "" or a path such as \/check/);
  t.match(faults.join('\n'), /decision\.colour: unknown key/);
  for (const bad of ['/', '/check/', '/a/../b', '/a b', '/%2f', 'check']) {
    t.match(faultsOf(() => fromYaml(t, `decision:\n  pathPrefix: ${JSON.stringify(bad)}\n`)).join('\n'), /decision\.pathPrefix/, bad);
  }
});
