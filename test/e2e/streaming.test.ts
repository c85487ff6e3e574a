import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { initAndServe } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';

const MiB = 1 << 20;
const TOTAL = 512 * MiB;
const chunk = Buffer.alloc(MiB, 0x61);

// The upstream counts what it receives on POST and sends TOTAL bytes on GET, honouring backpressure.
const upstream = await startUpstream((req, res, record) => {
  if (req.method === 'POST') {
    req.on('end', () => res.end(JSON.stringify({ bytes: record.bytes })));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
  let sent = 0;
  const pump = () => {
    while (sent < TOTAL) {
      sent += MiB;
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
t.teardown(() => upstream.close());

/** `env` execs node in place, so the pid is node's; checked rather than assumed. */
function nodePid(pid: number): number {
  const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  if (!command.includes('main.js')) throw new Error(`pid ${pid} is not the proxy: ${command}`);
  return pid;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

t.test('512 MiB up and 512 MiB down stream through with peak RSS under 200 MiB', async (t) => {
  const served = await initAndServe(t, { TOLLGATE_PROXY_UPSTREAM: upstream.origin, TOLLGATE_STORE_FILE_PATH: join(t.testdir({}), 'store.jsonl') }, true);
  const headers = { authorization: `Bearer ${served.admin}`, 'content-type': 'application/json' };
  await (await request(`${served.adminUrl}/v1/repositories`, { method: 'POST', headers, body: JSON.stringify({ name: 'sensors' }) })).body.dump();
  const created = await request(`${served.adminUrl}/v1/tokens`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ kind: 'repository', name: 'bulk', repository: 'sensors', rights: ['stream', 'query'] }),
  });
  const { secret } = (await created.body.json()) as { secret: string };
  const proxy = `${served.proxyUrl}/v1/repositories/sensors`;

  const up = await request(`${proxy}/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body: Readable.from((function* () {
      for (let i = 0; i < TOTAL / MiB; i++) yield chunk;
    })()),
  });
  t.equal(up.statusCode, 200);
  t.same(await up.body.json(), { bytes: TOTAL }, 'every uploaded byte arrived');

  const down = await request(`${proxy}/bulk`, { headers: { authorization: `Bearer ${secret}` } });
  t.equal(down.statusCode, 200);
  let received = 0;
  for await (const part of down.body) received += (part as Buffer).length;
  t.equal(received, TOTAL, 'every downloaded byte arrived');

  const peak = peakRssMiB(nodePid(served.run.child.pid!));
  t.comment(`peak RSS of the proxy process: ${peak.toFixed(1)} MiB`);
  t.ok(peak < 200, `peak RSS ${peak.toFixed(1)} MiB < 200 MiB`);
  served.run.child.kill('SIGTERM');
  t.equal(await served.run.exited, 0);
});
