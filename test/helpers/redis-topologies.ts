import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-p', String(port), ...args])).stdout;

async function answers(port: number): Promise<boolean> {
  try {
    return (await cli(port, 'PING')).trim() === 'PONG';
  } catch {
    return false;
  }
}

/** A port whose cluster bus port (+10000) is also usable. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10000 <= 65535) return port;
  }
}

export interface Topology {
  ports: number[];
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

function processes() {
  const children = new Map<number, ChildProcess>();
  const kill = async (port: number) => {
    const child = children.get(port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    children,
    kill,
    stop: async () => {
      for (const port of children.keys()) await kill(port);
    },
  };
}

/** Three masters, no replicas, made with `redis-cli --cluster create`, on free loopback ports. */
export async function startCluster(): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cluster-'));
  const procs = processes();
  const ports = [await clusterPort(), await clusterPort(), await clusterPort()];
  for (const port of ports) {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    procs.children.set(port, child);
  }
  for (const port of ports) await waitFor(() => answers(port), { what: `cluster node ${port}` });
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  await waitFor(
    async () => {
      for (const port of ports) if (!(await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
      return true;
    },
    { what: 'cluster_state:ok on every node', timeoutMs: 20_000, everyMs: 100 },
  );
  return { ports, kill: procs.kill, stop: procs.stop };
}

export interface SentinelSetup extends Topology {
  master: number;
  replica: number;
  sentinel: number;
  /** The port Sentinel currently names as master. */
  currentMaster(): Promise<number>;
  /**
   * Resolves once the replica holds everything the master has written. Replication is
   * asynchronous: a master killed before it would take its last writes with it, as it would in
   * production (store.redis.waitReplicas is the answer there).
   */
  replicated(): Promise<void>;
}

/** A master, one replica and one Sentinel (quorum 1, quick failover). */
export async function startSentinel(): Promise<SentinelSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sentinel-'));
  const procs = processes();
  const [master, replica, sentinel] = [await freePort(), await freePort(), await freePort()];
  const server = (port: number, extra: string[]) => {
    procs.children.set(
      port,
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], { stdio: 'ignore' }),
    );
  };
  server(master, []);
  server(replica, ['--replicaof', '127.0.0.1', String(master)]);
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinel}`,
      'bind 127.0.0.1',
      `sentinel monitor mymaster 127.0.0.1 ${master} 1`,
      'sentinel down-after-milliseconds mymaster 500',
      'sentinel failover-timeout mymaster 2000',
      'sentinel parallel-syncs mymaster 1',
      '',
    ].join('\n'),
  );
  procs.children.set(sentinel, spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
  for (const port of [master, replica, sentinel]) await waitFor(() => answers(port), { what: `redis ${port}` });
  await waitFor(async () => (await cli(replica, 'INFO', 'replication')).includes('master_link_status:up'), { what: 'replication', timeoutMs: 10_000 });
  await waitFor(async () => (await cli(sentinel, 'SENTINEL', 'replicas', 'mymaster')).includes(String(replica)), {
    what: 'Sentinel to see the replica',
    timeoutMs: 15_000,
    everyMs: 100,
  });
  const currentMaster = async () => Number((await cli(sentinel, 'SENTINEL', 'get-master-addr-by-name', 'mymaster')).trim().split('\n')[1]);
  const offset = async (port: number, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(await cli(port, 'INFO', 'replication'))?.[1] ?? -1);
  const replicated = async () => {
    const written = await offset(master, 'master_repl_offset');
    await waitFor(async () => (await offset(replica, 'slave_repl_offset')) >= written, { what: 'the replica to catch up', timeoutMs: 10_000, everyMs: 20 });
  };
  return { ports: [master, replica, sentinel], master, replica, sentinel, currentMaster, replicated, kill: procs.kill, stop: procs.stop };
}
