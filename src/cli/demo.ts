import type { AddressInfo } from 'node:net';
import { startTollgate } from '../app.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log/logger.js';
import { createStore } from '../store/create-store.js';
import type { TokenRecords } from '../store/token-store.js';
import { ALL_REPOSITORIES, RIGHTS } from '../tokens/record.js';
import { AdminClient } from './admin-client.js';
import { createDemoUpstream } from './demo-upstream.js';
import { CliFailure } from './failure.js';
import { startOrRelease, waitForSignal } from './serve.js';

const DEMO_REPOSITORY = 'sensors';
const ADMIN_NAME = 'demo admin';
const DATA_NAME = 'demo producer';

/** The tokens an earlier run of the demo made on this store: by name, and made by `demo`. */
async function earlierDemoTokens(store: Pick<TokenRecords, 'listTokens' | 'getTokens'>): Promise<string[]> {
  const named = [...(await store.listTokens())].filter((t) => t.kind === 'repository' && (t.name === ADMIN_NAME || t.name === DATA_NAME)).map((t) => t.id);
  const records = await store.getTokens(named);
  return records.filter((r) => r !== undefined && r.createdBy === 'demo').map((r) => r!.id);
}

/** Revokes (when active) and deletes the earlier demo tokens through the admin API, so history says who did it. */
async function replaceTokens(client: AdminClient, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  for (const id of ids) await client.call('POST', `/v1/tokens/${id}/revoke`).catch(() => undefined); // 409: revoked already
  const result = await client.call<{ deleted: string[] }>('POST', '/v1/tokens/delete', { ids });
  return result.deleted.length;
}

/**
 * `tollgate demo`: the quickstart. Runs a demo upstream and Tollgate on the file store, makes an
 * admin token and a data token, and prints curl lines that work as printed.
 */
export async function demo(base: Config, env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, upstreamPortWanted = 8000): Promise<number> {
  const upstream = createDemoUpstream();
  await new Promise<void>((resolve, reject) => {
    upstream.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new CliFailure(
              `port ${upstreamPortWanted} (the demo upstream) is in use; move it with --upstream-port, e.g. npm start -- --upstream-port 18000 (0 picks a free port)`,
            )
          : err,
      ),
    );
    upstream.listen(upstreamPortWanted, '127.0.0.1', resolve);
  });
  const upstreamPort = (upstream.address() as AddressInfo).port;
  // The environment still wins for listen addresses and the store, so the demo can move off busy ports and files.
  const config: Config = {
    ...base,
    // The quickstart is one process with the page and the proxy, whatever TOLLGATE_ROLE says.
    role: 'all',
    proxy: {
      ...base.proxy,
      upstream: `http://127.0.0.1:${upstreamPort}`,
      listen: env.TOLLGATE_PROXY_LISTEN ? base.proxy.listen : { host: '127.0.0.1', port: 8080 },
    },
    admin: { ...base.admin, listen: env.TOLLGATE_ADMIN_LISTEN ? base.admin.listen : { host: '127.0.0.1', port: 9090 } },
    store: env.TOLLGATE_STORE_BACKEND || env.TOLLGATE_STORE_FILE_PATH ? base.store : { ...base.store, backend: 'file', file: { path: './data/demo.jsonl' } },
  };
  // Quiet until the banner is out (its "tollgate listening" line would come first), then as configured.
  const logger = createLogger('warn');
  let store: Awaited<ReturnType<typeof createStore>> | undefined;
  let tollgate: Awaited<ReturnType<typeof startTollgate>> | undefined;
  try {
    store = await createStore(config.store);
    tollgate = await startOrRelease(config, store, logger, startTollgate);
  } catch (err) {
    upstream.close();
    throw err;
  }
  const now = systemClock.now();
  await store.createRepository({ name: DEMO_REPOSITORY, createdAt: now, createdBy: 'demo' });
  // A restart cannot show the old secrets again (they are not stored): it replaces the old demo
  // tokens through the admin API, so their history says who did it. Names are unique per
  // repository, so the new admin token takes its name once the old one is deleted.
  const earlier = await earlierDemoTokens(store);
  const admin = await tollgate.tokens.createUnchecked('demo', {
    kind: 'repository',
    name: earlier.length === 0 ? ADMIN_NAME : `${ADMIN_NAME} (replacing an earlier run)`,
    repository: ALL_REPOSITORIES,
    rights: [...RIGHTS],
    expiresIn: '30d',
  });
  const proxy = `http://127.0.0.1:${tollgate.proxyPort}`;
  const adminUrl = `http://127.0.0.1:${tollgate.adminPort}`;
  const client = new AdminClient(adminUrl, admin.secret);
  const replaced = await replaceTokens(client, earlier);
  if (earlier.length > 0) await client.call('PATCH', `/v1/tokens/${admin.token.id}`, { name: ADMIN_NAME });
  const data = await tollgate.tokens.createUnchecked('demo', {
    kind: 'repository',
    name: DATA_NAME,
    repository: DEMO_REPOSITORY,
    rights: ['query', 'stream'],
    expiresIn: '30d',
  });
  const bearer = (secret: string) => `-H "Authorization: Bearer ${secret}"`;
  out.write(
    `${[
      '',
      'Tollgate demo is running (Ctrl-C to stop).',
      `  proxy  ${proxy}  ->  demo upstream http://127.0.0.1:${upstreamPort}`,
      `  admin  ${adminUrl}`,
      `  store  file ${config.store.file.path}`,
      `  page   ${adminUrl}/ui/  (sign in with the admin token)`,
      ...(replaced > 0 ? [`  (revoked and deleted ${replaced} token${replaced === 1 ? '' : 's'} of an earlier demo run)`] : []),
      '',
      `Admin token (all repositories, every right; expires in 30 days), shown once:`,
      `  ${admin.secret}`,
      `Data token for "${DEMO_REPOSITORY}" (query, stream; expires in 30 days), shown once:`,
      `  ${data.secret}`,
      '',
      'Try:',
      `  # 200: the data token may query sensors`,
      `  curl -i ${bearer(data.secret)} ${proxy}/v1/repositories/${DEMO_REPOSITORY}/query`,
      `  # 200: and stream data into it`,
      `  curl -i -X POST --data-binary 'temperature=21.5' ${bearer(data.secret)} ${proxy}/v1/repositories/${DEMO_REPOSITORY}/stream`,
      `  # 401: no token`,
      `  curl -i ${proxy}/v1/repositories/${DEMO_REPOSITORY}/query`,
      `  # 403: the data token has no delete right`,
      `  curl -i -X DELETE ${bearer(data.secret)} ${proxy}/v1/repositories/${DEMO_REPOSITORY}/items/1`,
      `  # 403: nor any right on another repository`,
      `  curl -i ${bearer(data.secret)} ${proxy}/v1/repositories/billing/query`,
      `  # the token as the admin API shows it (never the secret)`,
      `  curl -s ${bearer(admin.secret)} ${adminUrl}/v1/tokens/${data.token.id}`,
      `  # metrics`,
      `  curl -s ${adminUrl}/metrics | grep tollgate_requests_total`,
      '',
      'The command line (another shell, in this directory):',
      `  export TOLLGATE_ADMIN_URL=${adminUrl} TOLLGATE_TOKEN=${admin.secret}`,
      '  npx tollgate whoami',
      '  npx tollgate token list',
      '',
    ].join('\n')}\n`,
  );
  logger.level = config.log.level;
  return waitForSignal(logger, async () => {
    await tollgate.shutdown();
    await new Promise((resolve) => upstream.close(resolve));
  });
}
