// node bench/stream-peak-ab.mjs DIR_A DIR_B [rounds]: two builds of Tollgate (copies of dist/)
// (a directory may carry node flags after an @, comma-separated, as in bench:ab: dist@--max-semi-space-size=4)
// served in turn as the proxy role on one private Redis, each a fresh process per round: peak RSS
// (sampled every 10 ms after a reset of VmHWM) and rate while 1 GiB comes down alone, while 1 GiB
// goes up alone, then while 1 GiB goes up and 1 GiB comes down at once. A directory holding the
// bundle (dist/bundle) serves its main.js as well. For changes to the streaming path (what stays in
// flight, buffer reuse); the footprint scenario of bench/run.mjs has the whole picture.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { benchTokens, initAdmin, serveTollgate, start, startRedisServer, waitFor } from './lib.mjs';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 2);
const builds = args.filter((a) => !/^\d+$/.test(a));
if (builds.length < 2) {
  console.error('usage: node bench/stream-peak-ab.mjs DIR_A DIR_B [rounds]');
  process.exit(2);
}
const MIB = 1024;
const chunk = Buffer.alloc(1 << 20, 0x62);
const rss = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024;
  return { total: kib('VmRSS'), anon: kib('RssAnon') };
};

const upstreamProc = start('node', ['bench/upstream.mjs', '0']);
const upstream = `http://127.0.0.1:${Number(await waitFor(() => upstreamProc.output().trim(), 'upstream'))}`;
const redis = await startRedisServer();
const env = { TOLLGATE_STORE_BACKEND: 'redis', TOLLGATE_STORE_REDIS_URL: redis.url, TOLLGATE_PROXY_UPSTREAM: upstream, TOLLGATE_PROXY_ACCESS_LOG: 'false' };
const adminSecret = initAdmin(env);
// The proxy role has no admin API: an all-role process of the first build makes the token.
const served = (spec, role) => {
  const [dir, flags = ''] = spec.split('@');
  return serveTollgate({ ...env, TOLLGATE_ROLE: role }, spec, { main: join(resolve(dir), 'main.js'), nodeFlags: flags.split(',').filter(Boolean) });
};
const maker = await served(builds[0], 'all');
const headers = { authorization: `Bearer ${await (await benchTokens(maker.admin, adminSecret))()}` };

async function measure(pid, url, directions) {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const peak = { total: 0, anon: 0 };
  const sampler = setInterval(() => {
    const now = rss(pid);
    peak.total = Math.max(peak.total, now.total);
    peak.anon = Math.max(peak.anon, now.anon);
  }, 10);
  const t0 = performance.now();
  const jobs = [];
  if (directions.includes('down')) {
    jobs.push(
      request(`${url}/v1/repositories/bench/bulk?bytes=${MIB * 2 ** 20}`, { headers }).then(async (res) => {
        for await (const _ of res.body);
      }),
    );
  }
  if (directions.includes('up')) {
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < MIB; i++) yield chunk;
      })(),
    );
    jobs.push(request(`${url}/v1/repositories/bench/stream`, { method: 'POST', headers, body }).then((res) => res.body.dump()));
  }
  await Promise.all(jobs);
  clearInterval(sampler);
  const rate = (directions.length * MIB) / ((performance.now() - t0) / 1000);
  return `peak ${peak.total.toFixed(0)} MiB (anon ${peak.anon.toFixed(0)}), ${rate.toFixed(0)} MiB/s`;
}

console.log(`# node bench/stream-peak-ab.mjs ${args.join(' ')}; Node ${process.version}; ${new Date().toISOString()}\n`);
for (let round = 1; round <= rounds; round++) {
  for (const build of builds) {
    const proxy = await served(build, 'proxy');
    const idle = rss(proxy.pid).total.toFixed(0);
    const down = await measure(proxy.pid, proxy.proxy, ['down']);
    const up = await measure(proxy.pid, proxy.proxy, ['up']);
    const both = await measure(proxy.pid, proxy.proxy, ['up', 'down']);
    console.log(`round ${round} ${build}: idle ${idle} MiB; 1 GiB down: ${down}; 1 GiB up: ${up}; 1 GiB each way at once: ${both}`);
    process.kill(proxy.pid, 'SIGKILL');
  }
}
process.exit(0);
