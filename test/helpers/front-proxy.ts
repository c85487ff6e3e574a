import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

export const NGINX = '/usr/sbin/nginx';
export const CADDY = '/usr/bin/caddy';

/** Why a peer cannot run here (for t.skip), or undefined when its binary is installed. */
export function missing(binary: string, packageName: string): string | undefined {
  return existsSync(binary) ? undefined : `${binary} is not installed (apt-get install ${packageName}); this peer is not tested here`;
}

export interface FrontProxy {
  port: number;
  origin: string;
  /** What the peer wrote to stdout and stderr, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function run(command: string, args: string[], dir: string, port: number, env: NodeJS.ProcessEnv = {}): Promise<FrontProxy> {
  const child: ChildProcess = spawn(command, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  await waitFor(
    async () => {
      if (hasExited) throw new Error(`${command} exited before listening:\n${output}`);
      return accepts(port);
    },
    { what: `${command} to listen on ${port}`, timeoutMs: 15_000, everyMs: 20 },
  );
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (!hasExited) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * nginx in the foreground as this user (no master process: nothing to drop privileges to), with
 * its pid, logs and temp paths in a fresh directory. `server` is the body of one `server` block
 * listening on a free loopback port; `http` goes beside it.
 */
export async function startNginx(http: string, server: string): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-nginx-'));
  const port = await freePort();
  const temp = ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => {
    mkdirSync(join(dir, name));
    return `${name === 'body' ? 'client_body' : name}_temp_path ${join(dir, name)};`;
  });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  ${temp.join('\n  ')}
  ${http}
  server {
    listen 127.0.0.1:${port};
    ${server}
  }
}
`,
  );
  return run(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], dir, port);
}

/** Caddy in the foreground from a Caddyfile; `site` is one site block's body on a free loopback port. */
export async function startCaddy(site: string): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-caddy-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'Caddyfile'),
    `{
\tadmin off
\tauto_https off
}

http://127.0.0.1:${port} {
\tbind 127.0.0.1
${site}
}
`,
  );
  // Caddy keeps state under $HOME and XDG paths: all of it goes in the temp directory.
  return run(CADDY, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], dir, port, {
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  });
}
