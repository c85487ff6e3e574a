import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { type Running, runCli, runToEnd } from '../helpers/cli.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

// `tollgate serve` rereads its configuration on SIGHUP and when the file changes
// (docs/configuration.md, "Reloading"). Each test runs the built CLI on a file laid out as a
// Kubernetes ConfigMap volume: tollgate.yaml -> ..data/tollgate.yaml, ..data -> ..data_<n>.

/** Answers 200 naming itself; /events holds its response open until the test writes to it. */
function namedUpstream(name: string, held: IncomingMessage[] = []) {
  return startUpstream((req, res) => {
    if (req.url!.endsWith('/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-upstream': name });
      res.write('data: first\n\n');
      held.push(Object.assign(req, { res }));
      return;
    }
    req.resume();
    req.on('end', () => res.writeHead(200, { 'x-upstream': name }).end(name));
  });
}

const a: Upstream = await namedUpstream('a');
const bHeld: IncomingMessage[] = [];
const b: Upstream = await namedUpstream('b', bHeld);
t.teardown(() => Promise.all([a.close(), b.close()]));

interface Served {
  run: Running;
  dir: string;
  admin: string;
  proxyUrl: string;
  adminUrl: string;
  /** Lays `yaml` down as the next ConfigMap generation and swaps `..data` to it, as the kubelet does. */
  swap(yaml: string): void;
  /** Rewrites the file in place, as an editor or `kubectl cp` would. */
  edit(yaml: string): void;
  metric(name: string): Promise<number>;
}

const settings = (dir: string, upstream: string, extra = '') => `proxy:
  listen: 127.0.0.1:0
  upstream: ${upstream}
  accessLog: false
admin:
  listen: 127.0.0.1:0
store:
  backend: file
  file:
    path: ${join(dir, 'store.jsonl')}
${extra}`;

async function serve(t: Test, upstream: string = b.origin): Promise<Served> {
  const dir = t.testdir({});
  let generation = 1;
  mkdirSync(join(dir, '..data_1'));
  writeFileSync(join(dir, '..data_1', 'tollgate.yaml'), settings(dir, upstream));
  symlinkSync('..data_1', join(dir, '..data'));
  symlinkSync(join('..data', 'tollgate.yaml'), join(dir, 'tollgate.yaml'));
  const file = join(dir, 'tollgate.yaml');
  const init = await runToEnd(['init-admin', '--config', file]);
  const admin = /^(tgr_\w{49})$/m.exec(init.stdout)?.[1];
  if (!admin) throw new Error(`init-admin printed no secret: ${init.stderr}`);
  const run = runCli(['serve', '--config', file]);
  t.teardown(() => run.child.kill('SIGKILL'));
  const listening = await run.logLine('tollgate listening');
  const adminUrl = `http://127.0.0.1:${listening.adminPort}`;
  await (
    await request(`${adminUrl}/v1/repositories`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{"name":"sensors"}',
    })
  ).body.dump();
  return {
    run,
    dir,
    admin,
    adminUrl,
    proxyUrl: `http://127.0.0.1:${listening.proxyPort}`,
    swap(yaml) {
      generation++;
      mkdirSync(join(dir, `..data_${generation}`));
      writeFileSync(join(dir, `..data_${generation}`, 'tollgate.yaml'), yaml);
      symlinkSync(`..data_${generation}`, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    },
    edit(yaml) {
      writeFileSync(join(dir, `..data_${generation}`, 'tollgate.yaml'), yaml);
    },
    async metric(name) {
      const text = await (await request(`${adminUrl}/metrics`)).body.text();
      return Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    },
  };
}

/** Log lines with this message, parsed. */
const lines = (run: Running, msg: string) =>
  run
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === msg);

async function waitForLines(run: Running, msg: string, count: number): Promise<Record<string, unknown>> {
  await waitFor(() => lines(run, msg).length >= count, { what: `log line "${msg}" #${count}`, timeoutMs: 10_000 });
  return lines(run, msg)[count - 1]!;
}

const get = (s: Served, path: string) => request(`${s.proxyUrl}${path}`, { headers: { authorization: `Bearer ${s.admin}` } });

t.test('SIGHUP with an unchanged file: nothing changes and the generation stays 1', async (t) => {
  const s = await serve(t);
  s.run.child.kill('SIGHUP');
  const line = await waitForLines(s.run, 'configuration reloaded: nothing to apply', 1);
  t.equal(line.trigger, 'SIGHUP');
  t.equal(await s.metric('tollgate_config_reloads_total{outcome="unchanged"}'), 1);
  t.equal(await s.metric('tollgate_config_reloads_total{outcome="applied"}'), 0);
  t.equal(await s.metric('tollgate_config_generation'), 1);
  t.equal(lines(s.run, 'configuration reloaded').length, 0);
});

t.test('a ConfigMap ..data swap is applied without a signal; the log names the changed keys', async (t) => {
  const s = await serve(t);
  t.not((await request(`${s.proxyUrl}/open/x`)).statusCode, 200, 'no public route yet');
  s.swap(settings(s.dir, b.origin, 'routes:\n  - { path: /open/**, public: true }\n  - { path: "/v1/repositories/:repository/**" }\nlog:\n  level: debug\n'));
  const line = await waitForLines(s.run, 'configuration reloaded', 1);
  t.same([line.trigger, line.generation, line.changed], ['file', 2, ['routes', 'log.level']]);
  t.equal(await s.metric('tollgate_config_generation'), 2);
  t.equal(await s.metric('tollgate_config_reloads_total{outcome="applied"}'), 1);
  const res = await request(`${s.proxyUrl}/open/x`);
  t.equal(res.statusCode, 200, 'the new public route is served');
  t.equal(await res.body.text(), 'b');
});

t.test('a bad file changes nothing: logged at error naming the key and its line, the process serves on and exits 0', async (t) => {
  const s = await serve(t);
  s.edit(settings(s.dir, 'ftp://elsewhere', 'log:\n  level: debug\n'));
  const line = await waitForLines(s.run, 'configuration not reloaded: the new file is invalid; the running configuration stays', 1);
  t.equal(line.level, 50, 'logged at error');
  t.match(line.faults, [/^proxy\.upstream: expected an origin .*tollgate\.yaml:3\)$/]);
  t.equal(await s.metric('tollgate_config_reloads_total{outcome="invalid"}'), 1);
  t.equal(await s.metric('tollgate_config_generation'), 1);
  const res = await get(s, '/v1/repositories/sensors/x');
  t.equal(res.statusCode, 200, 'requests still go through');
  t.equal(await res.body.text(), 'b', 'to the upstream in force');
  t.equal(s.run.child.exitCode, null, 'still running');
  s.run.child.kill('SIGTERM');
  t.equal(await s.run.exited, 0, 'exits 0 as ever');
});

t.test('a restart-only key changed: named in a warning, its running value kept, the rest applied', async (t) => {
  const s = await serve(t);
  s.swap(settings(s.dir, b.origin, 'log:\n  level: debug\n').replace('listen: 127.0.0.1:0\n  upstream', 'listen: 127.0.0.1:1\n  upstream'));
  const warning = await waitForLines(s.run, 'configuration keys changed that take effect only after a restart; their running values are kept', 1);
  t.equal(warning.level, 40);
  t.same(warning.keys, ['proxy.listen']);
  const applied = await waitForLines(s.run, 'configuration reloaded', 1);
  t.same(applied.changed, ['log.level']);
  t.equal((await get(s, '/v1/repositories/sensors/x')).statusCode, 200, 'the proxy port is where it was');
  // The kept value stays kept: the next reload of the same file changes nothing.
  s.run.child.kill('SIGHUP');
  await waitForLines(s.run, 'configuration reloaded: nothing to apply', 1);
  t.equal(await s.metric('tollgate_config_generation'), 2);
});

t.test('the upstream moved while keep-alive connections are open: the next request goes to the new one, no client connection closes', async (t) => {
  const s = await serve(t, b.origin);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const send = () =>
    new Promise<{ body: string; reused: boolean }>((resolve, reject) => {
      const req = httpRequest(`${s.proxyUrl}/v1/repositories/sensors/x`, { agent, headers: { authorization: `Bearer ${s.admin}` } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += String(chunk)));
        res.on('end', () => resolve({ body, reused: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end();
    });
  t.equal((await send()).body, 'b');
  // A download from the old upstream stays open across the move.
  const download = await request(`${s.proxyUrl}/v1/repositories/sensors/events`, { headers: { authorization: `Bearer ${s.admin}` } });
  let received = '';
  download.body.on('data', (chunk: Buffer) => (received += String(chunk)));
  const ended = new Promise<string>((resolve) => {
    download.body.on('end', () => resolve('end'));
    download.body.on('error', (err) => resolve(`error: ${err.message}`));
  });
  await waitFor(() => received.includes('first'), { what: 'the first event' });

  s.swap(settings(s.dir, a.origin));
  const line = await waitForLines(s.run, 'configuration reloaded', 1);
  t.same(line.changed, ['proxy.upstream']);
  const moved = await send();
  t.same(moved, { body: 'a', reused: true }, 'the new upstream answered on the same client connection');
  t.equal((await send()).body, 'a');

  const held = bHeld.at(-1) as IncomingMessage & { res: import('node:http').ServerResponse };
  held.res.end('data: last\n\n');
  t.equal(await ended, 'end', 'the download from the old upstream ran to its end');
  t.match(received, /last/);
});
