import { request } from 'undici';
import { initAdmin, type Running, runCli } from './cli.js';

export interface RoleProcess {
  run: Running;
  adminUrl: string;
  /** The proxy port's origin; undefined for a control replica. */
  proxyUrl: string | undefined;
  /** SIGTERM, then the exit status once drained. */
  stop(): Promise<number | null>;
}

/** The environment of replicas sharing the Redis at `redisUrl`, on loopback port 0. */
export const redisReplicaEnv = (redisUrl: string, extra: Record<string, string> = {}): Record<string, string> => ({
  TOLLGATE_STORE_BACKEND: 'redis',
  TOLLGATE_STORE_REDIS_URL: redisUrl,
  TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
  TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
  TOLLGATE_PROXY_ACCESS_LOG: 'false',
  ...extra,
});

/** `tollgate init-admin` on that store (in this process: initAdmin): the `*` admin secret. */
export const initAdminSecret = (env: Record<string, string>): Promise<string> => initAdmin(env);

/** `tollgate serve --role ROLE` (the built CLI), once it listens; killed at teardown. */
export async function serveRole(
  t: { teardown(fn: () => unknown): void },
  role: 'proxy' | 'control' | 'all',
  env: Record<string, string>,
  nodeOptions?: string,
): Promise<RoleProcess> {
  const run = runCli(['serve', '--role', role], nodeOptions === undefined ? env : { ...env, NODE_OPTIONS: nodeOptions });
  t.teardown(() => run.child.kill('SIGKILL'));
  // A test file that fails at its top level exits without its teardowns: no replica outlives it.
  process.once('exit', () => run.child.kill('SIGKILL'));
  const listening = await run.logLine('tollgate listening');
  return {
    run,
    adminUrl: `http://127.0.0.1:${listening.adminPort}`,
    proxyUrl: listening.proxyPort === undefined ? undefined : `http://127.0.0.1:${listening.proxyPort}`,
    stop() {
      run.child.kill('SIGTERM');
      return run.exited;
    },
  };
}

/** A JSON call to an admin API with a bearer secret: the status and the parsed body. */
// biome-ignore lint/suspicious/noExplicitAny: a JSON body the tests read by path, as admin-client.ts's call()
export async function adminCall(adminUrl: string, method: string, path: string, secret: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(`${adminUrl}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text && /json/.test(String(res.headers['content-type'])) ? JSON.parse(text) : text };
}
