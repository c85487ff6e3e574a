// node bench/start-cpu.mjs STARTS MAIN[@flags] MAIN[@flags] ...: the proxy role on a private Redis,
// started STARTS times per build in alternation; for each start the wall time from spawn to the
// first 200 on /readyz and the CPU the process used by then (utime + stime from /proc, 10 ms
// ticks). On a shared machine the wall time follows the load; the CPU much less so.
// Example: node bench/start-cpu.mjs 7 dist/main.js dist/bundle/main.js
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { freePort, initAdmin, root, startRedisServer } from './lib.mjs';

const [starts, ...builds] = process.argv.slice(2);
if (!Number(starts) || builds.length === 0) {
  console.error('usage: node bench/start-cpu.mjs STARTS MAIN[@flags] ...');
  process.exit(2);
}
const redis = await startRedisServer();
const env = {
  TOLLGATE_STORE_BACKEND: 'redis',
  TOLLGATE_STORE_REDIS_URL: redis.url,
  TOLLGATE_PROXY_UPSTREAM: 'http://127.0.0.1:1',
  TOLLGATE_PROXY_ACCESS_LOG: 'false',
  TOLLGATE_ROLE: 'proxy',
  TOLLGATE_LOG_LEVEL: 'warn',
};
initAdmin(env);
const statusOf = (url) =>
  new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('error', () => resolve(false));
  });
const results = new Map(builds.map((build) => [build, { wall: [], cpu: [] }]));
for (let i = 0; i < Number(starts); i++) {
  for (const build of builds) {
    const [main, flags = ''] = build.split('@');
    const [proxyPort, adminPort] = [await freePort(), await freePort()];
    const t0 = performance.now();
    const child = spawn('node', [...flags.split(',').filter(Boolean), main, 'serve'], {
      cwd: root,
      env: { ...process.env, ...env, TOLLGATE_PROXY_LISTEN: `127.0.0.1:${proxyPort}`, TOLLGATE_ADMIN_LISTEN: `127.0.0.1:${adminPort}` },
      stdio: 'ignore',
    });
    while ((await statusOf(`http://127.0.0.1:${adminPort}/readyz`)) !== 200) {
      if (child.exitCode !== null) throw new Error(`${build} exited before it was ready`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const wall = performance.now() - t0;
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    results.get(build).wall.push(Math.round(wall));
    results.get(build).cpu.push((Number(fields[11]) + Number(fields[12])) * 10);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
console.log(
  `# node bench/start-cpu.mjs ${process.argv.slice(2).join(' ')}; Node ${process.version}; ${new Date().toISOString()}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
);
for (const [build, { wall, cpu }] of results)
  console.log(`${build}: exec -> ready median ${median(wall)} ms (min ${Math.min(...wall)}); CPU to ready median ${median(cpu)} ms [${cpu.join(', ')}]`);
process.exit(0);
