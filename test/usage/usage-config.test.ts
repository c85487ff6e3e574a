import t from 'tap';
import { runToEnd } from '../helpers/cli.js';
import { faultsOf, fromYaml } from '../helpers/config.js';

// usage.retention and usage.flushInterval (docs/usage.md): defaults, ranges, and a fault that
// stops the start with exit status 2 naming the key.

t.test('usage is kept 90 days and flushed every 10 s unless configured', async (t) => {
  const config = fromYaml(t, '');
  t.same(config.usage, { retention: 90 * 86_400_000, flushInterval: 10_000 });
  t.same(fromYaml(t, 'usage:\n  retention: 400d\n  flushInterval: 1s\n').usage, { retention: 400 * 86_400_000, flushInterval: 1000 });
});

t.test('out of range or not a duration is a fault naming the key and the range', async (t) => {
  t.match(
    faultsOf(() => fromYaml(t, 'usage:\n  retention: 12h\n')),
    [/^usage\.retention: expected a duration from 1d to 400d, got "12h"/],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'usage:\n  flushInterval: 2h\n')),
    [/^usage\.flushInterval: expected a duration from 1s to 1h/],
  );
  t.match(
    faultsOf(() => fromYaml(t, 'usage:\n  keep: forever\n')),
    [/^usage\.keep: unknown key/],
  );
});

t.test('serve exits 2 naming usage.retention when the environment sets it out of range', async (t) => {
  const run = await runToEnd(
    ['serve'],
    { TOLLGATE_USAGE_RETENTION: '500d', TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0' },
    t.testdir({}),
  );
  t.equal(run.code, 2);
  t.match(run.stderr, /usage\.retention: expected a duration from 1d to 400d, got "500d"/);
  t.notMatch(run.stdout, /listening/);
});
