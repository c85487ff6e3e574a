import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { nodeVersionProblem, SUPPORTED_NODE } from '../../src/cli/node-version.js';
import { MAIN } from '../helpers/cli.js';

t.test('the supported lines are the ones package.json engines names', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  t.equal(pkg.engines.node, SUPPORTED_NODE);
  for (const ok of ['22.19.0', '22.22.1', '24.0.0', '24.21.0', '26.1.0']) t.equal(nodeVersionProblem(ok), undefined, ok);
  for (const old of ['18.20.8', '20.19.0', '20.20.2', '22.18.0', '23.11.1']) t.match(nodeVersionProblem(old), /is not supported.*Node\.js 24/, old);
  t.equal(nodeVersionProblem(process.versions.node), undefined, 'the Node running the suite is supported');
});

// The machine's own Node, when it is older than Tollgate supports (Debian's or the base image's
// Node 20 on a developer machine), runs the built command as users would run it.
const systemNode = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
const oldNode = systemNode.status === 0 && nodeVersionProblem(systemNode.stdout.trim()) !== undefined ? systemNode.stdout.trim() : undefined;

t.test('an older Node gets a sentence and exit status 1, not a stack trace', { skip: oldNode ? false : 'no older Node at /usr/bin/node' }, async (t) => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE'));
  for (const args of [['demo'], ['serve'], ['--help']]) {
    const run = spawnSync('/usr/bin/node', [MAIN, ...args], { encoding: 'utf8', env, timeout: 10_000 });
    t.equal(run.status, 1, `${args[0]}: exit status`);
    t.equal(run.stdout, '', `${args[0]}: nothing on stdout`);
    t.equal(run.stderr, `tollgate: ${nodeVersionProblem(oldNode!)}\n`, `${args[0]}: one line on stderr`);
    t.notMatch(run.stderr, /\n\s+at /, `${args[0]}: no stack trace`);
  }
});

t.test('package.json pins Node.js 24 as a dependency, approved to install, and npm scripts run on it', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8'));
  const pinned = pkg.devDependencies.node as string;
  t.match(pinned, /^24\.\d+\.\d+$/, 'one exact 24.x release');
  t.equal(lock.packages['node_modules/node'].version, pinned, 'the lockfile holds the same release');
  t.equal(pkg.allowScripts.node, true, 'its install script (which fetches the build) is approved');
  t.equal(nodeVersionProblem(pinned), undefined);
  // Through `npm test` or `npx tap`, npm put node_modules/.bin first on PATH.
  if (process.env.npm_execpath) t.equal(process.versions.node, pinned, 'this suite runs on the pinned Node');
});

t.test('npx tollgate runs on the pinned Node while an older Node is first on PATH', { skip: oldNode ? false : 'no older Node at /usr/bin/node' }, async (t) => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE' && !k.startsWith('npm_')));
  env.PATH = '/usr/bin:/bin';
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  const version = spawnSync('npx', ['--offline', 'tollgate', '--version'], { encoding: 'utf8', env, cwd, timeout: 30_000 });
  t.equal(version.status, 0, `exit status 0 (stderr: ${version.stderr})`);
  t.match(version.stdout, /^tollgate \d+\.\d+\.\d+\n$/, 'it ran where Node.js 20 would have refused');
  const node = spawnSync('npm', ['exec', '--offline', '--', 'node', '-p', 'process.versions.node'], { encoding: 'utf8', env, cwd, timeout: 30_000 });
  t.equal(
    node.stdout.trim(),
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).devDependencies.node,
    'the node npm exec finds is the pinned one',
  );
});
