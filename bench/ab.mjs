// npm run bench:ab -- DIR_A DIR_B [rounds]: two builds of Tollgate (copies of dist/, say
// bench/out/before and bench/out/after) served side by side in front of one upstream and measured
// with the cached-token GET in alternation, so both see the same machine at the same moments.
// On a VM whose speed moves by 25% from minute to minute, the pairwise difference is the figure.
// A directory may carry node flags after an @, comma-separated: bench/out/after@--max-semi-space-size=1
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchTokens, ensureCommand, initAdmin, serveTollgate, start, waitFor, wrk } from './lib.mjs';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
const builds = args.filter((a) => !/^\d+$/.test(a));
if (builds.length < 2) {
  console.error('usage: npm run bench:ab -- DIR_A DIR_B [rounds]');
  process.exit(2);
}
if (!ensureCommand('wrk', 'wrk')) throw new Error('wrk is needed: apt-get install wrk');
const duration = process.env.BENCH_DURATION ?? '8s';
const PATH = '/v1/repositories/bench/query';

const upstream = start('node', ['bench/upstream.mjs', '0']);
const upstreamUrl = `http://127.0.0.1:${Number(await waitFor(() => upstream.output().trim(), 'upstream'))}`;

async function serveBuild(spec) {
  const [dir, flags = ''] = spec.split('@');
  const main = join(resolve(dir), 'main.js');
  const env = { TOLLGATE_PROXY_UPSTREAM: upstreamUrl, TOLLGATE_STORE_FILE_PATH: join(mkdtempSync(join(tmpdir(), 'tollgate-ab-')), 'store.jsonl') };
  const admin = initAdmin(env, main);
  const served = await serveTollgate(env, spec, { main, nodeFlags: flags.split(',').filter(Boolean) });
  const secret = await (await benchTokens(served.admin, admin, ['query']))();
  return { spec, url: `${served.proxy}${PATH}`, auth: [`Authorization: Bearer ${secret}`], pid: served.pid, runs: [] };
}

const targets = [];
for (const spec of builds) targets.push(await serveBuild(spec));
for (const t of targets) wrk(t.url, { headers: t.auth, duration: '3s' }); // JIT warm-up, not counted
for (let round = 0; round < rounds; round++) {
  for (const t of targets) {
    const r = wrk(t.url, { headers: t.auth, duration, pid: t.pid });
    t.runs.push(r);
    console.log(`round ${round + 1} ${t.spec}: ${r.rps.toFixed(0)} req/s, ${r.cpuUsPerRequest.toFixed(1)} µs CPU/req`);
  }
}
const [a, ...others] = targets;
for (const b of others) {
  const diffs = a.runs.map((r, i) => b.runs[i].cpuUsPerRequest - r.cpuUsPerRequest).sort((x, y) => x - y);
  const better = diffs.filter((d) => d < 0).length;
  console.log(
    `\n${b.spec} vs ${a.spec}: CPU µs/req difference per round ${diffs.map((d) => d.toFixed(1)).join(', ')}; ` +
      `median ${diffs[diffs.length >> 1].toFixed(1)}; lower in ${better} of ${diffs.length} rounds`,
  );
}
process.exit(0);
