import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);

t.test('tollgate demo prints curl lines that give the documented answers', async (t) => {
  const cwd = t.testdir({});
  const demo = runCli(
    ['demo', '--upstream-port', '0'],
    {
      TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
      TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
      TOLLGATE_PROXY_ACCESS_LOG: 'false',
    },
    cwd,
  );
  t.teardown(() => demo.child.kill('SIGKILL'));
  await waitFor(() => demo.stdout().includes('curl -s http'), { what: 'the demo banner', timeoutMs: 15_000 });
  const lines = demo.stdout().split('\n');
  const checks: Array<{ expected: number; command: string }> = [];
  for (let i = 0; i < lines.length - 1; i++) {
    const status = /^\s+# (\d{3}):/.exec(lines[i]!)?.[1];
    const command = lines[i + 1]!.trim();
    if (command.startsWith('curl ')) checks.push({ expected: status ? Number(status) : 200, command });
  }
  t.equal(checks.length, 7, 'seven sample commands');
  for (const { expected, command } of checks) {
    const asStatus = command.includes(' | ') ? command : `${command} -o /dev/null -w '%{http_code}'`;
    const { stdout } = await run('bash', ['-c', asStatus]);
    if (command.includes(' | ')) t.match(stdout, /tollgate_requests_total\{right="query",outcome="allowed",credential="token"\} 1/, command);
    else t.equal(Number(stdout.trim().slice(-3)), expected, command.replace(/tg[rp]_\w+/g, 'tg*_…'));
  }
  // "another shell, in this directory": the clone, whose node_modules/.bin holds the pinned Node.
  const cli = lines
    .slice(lines.findIndex((l) => l.startsWith('The command line')) + 1)
    .map((l) => l.trim())
    .filter(Boolean);
  t.match(cli, [/^export TOLLGATE_ADMIN_URL=\S+ TOLLGATE_TOKEN=tgr_\w+$/, /^npx tollgate whoami$/, /^npx tollgate token list$/]);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_') && k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE'));
  const root = new URL('../..', import.meta.url).pathname;
  const { stdout: listed } = await run('bash', ['-c', `${cli[0]}; ${cli[2]!.replace('npx ', 'npx --offline ')}`], { cwd: root, env });
  t.match(listed, /demo producer/, 'the printed CLI lines work as printed, from the clone');
  demo.child.kill('SIGINT');
  t.equal(await demo.exited, 0);
});
