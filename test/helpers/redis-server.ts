import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

export interface RedisServer {
  port: number;
  url: string;
  process: ChildProcess;
  /** Kills the server at once (an outage), leaving the port free for `restart`. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (fresh, or from its append-only file with `persist`). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts a private `redis-server` on a free loopback port, keeping nothing on disk; with
 * `persist`, an append-only file in a temporary folder, so `restart` after `kill` finds the data.
 */
export async function startRedis({ persist = false }: { persist?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const storage = persist ? ['--appendonly', 'yes', '--dir', mkdtempSync(join(tmpdir(), 'tollgate-redis-'))] : ['--appendonly', 'no'];
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...storage, '--enable-debug-command', 'local'], {
      stdio: 'ignore',
    });
    await waitFor(() => ping(port), { what: `redis-server on ${port}` });
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    get process() {
      return child;
    },
    kill,
    restart: launch,
    stop: kill,
  };
}
