// The soak's store: a Redis master with one replica and one Sentinel (the same binary in Sentinel
// mode), each keeping an append-only file so a killed master restarts with its data, as a
// persistent Redis in production would (everysec: a killed process loses nothing it had written
// to the kernel). Faults: the master killed and restarted before Sentinel gives up on it, and the
// master killed for good until Sentinel promotes the replica.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './lib.mjs';

const cli = (port, ...args) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const answers = (port) => {
  try {
    return cli(port, 'PING') === 'PONG';
  } catch {
    return false;
  }
};

/** Down-after long enough that a restart of a second or two is an outage, not a failover. */
const DOWN_AFTER_MS = 4000;

export async function startSentinelRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-soak-redis-'));
  const [first, second, sentinel] = [await freePort(), await freePort(), await freePort()];
  const servers = new Map();
  const launch = (port, extra = []) => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--appendfilename',
      `aof-${port}.aof`,
      '--appenddirname',
      `aof-${port}`,
      '--dir',
      dir,
      ...extra,
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    servers.set(port, child);
    return waitFor(() => answers(port), `redis ${port}`);
  };
  await launch(first);
  await launch(second, ['--replicaof', '127.0.0.1', String(first)]);
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinel}`,
      'bind 127.0.0.1',
      `sentinel monitor soak 127.0.0.1 ${first} 1`,
      `sentinel down-after-milliseconds soak ${DOWN_AFTER_MS}`,
      'sentinel failover-timeout soak 3000',
      '',
    ].join('\n'),
  );
  const sentinelProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  await waitFor(() => answers(sentinel), 'sentinel');
  await waitFor(() => cli(second, 'INFO', 'replication').includes('master_link_status:up'), 'replication', 20_000);
  await waitFor(() => cli(sentinel, 'SENTINEL', 'replicas', 'soak').includes(String(second)), 'Sentinel to see the replica', 20_000);
  process.on('exit', () => {
    for (const child of [...servers.values(), sentinelProcess]) child.kill('SIGKILL');
  });

  const master = () => Number(cli(sentinel, 'SENTINEL', 'get-master-addr-by-name', 'soak').split('\n')[1]);
  const kill = async (port) => {
    const child = servers.get(port);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  /** Each data node's role and client count (CLIENT LIST): where the replicas' connections went. */
  const describe = () =>
    [first, second]
      .map((port) => {
        try {
          const role = /role:(\w+)/.exec(cli(port, 'INFO', 'replication'))[1];
          const clients = cli(port, 'CLIENT', 'LIST')
            .split('\n')
            .filter((l) => !l.includes('flags=S') && !l.includes('cmd=client')).length;
          return `${port} ${role} (${clients} clients)`;
        } catch {
          return `${port} down`;
        }
      })
      .join(', ');
  return {
    sentinel,
    describe,
    env: { TOLLGATE_STORE_REDIS_URL: 'redis://127.0.0.1/0', TOLLGATE_STORE_REDIS_SENTINELS: `[127.0.0.1:${sentinel}]`, TOLLGATE_STORE_REDIS_NAME: 'soak' },
    master,
    /** SIGKILL the master, wait `downMs`, start it again on its port from its append-only file. */
    async restartMaster(downMs) {
      const port = master();
      await kill(port);
      await new Promise((r) => setTimeout(r, downMs));
      await launch(port);
      return port;
    },
    /** SIGKILL the master and keep it down until Sentinel promotes the replica; then it comes back as a replica. */
    async failover() {
      const old = master();
      await kill(old);
      await waitFor(() => master() !== old, 'Sentinel to promote the replica', 60_000);
      await launch(old);
      return { from: old, to: master() };
    },
  };
}
