import type { AddressInfo } from 'node:net';
import { startTollgate } from '../app.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log/logger.js';
import { createStore } from '../store/create-store.js';
import { ALL_REPOSITORIES, RIGHTS } from '../tokens/record.js';
import { createDemoUpstream } from './demo-upstream.js';
import { waitForSignal } from './serve.js';

const DEMO_REPOSITORY = 'sensors';

/**
 * `tollgate demo`: the quickstart. Runs a demo upstream and Tollgate on the file store, makes an
 * admin token and a data token, and prints curl lines that work as printed.
 */
export async function demo(base: Config, env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, upstreamPortWanted = 8000): Promise<number> {
  const upstream = createDemoUpstream();
  await new Promise<void>((resolve, reject) => {
    upstream.once('error', reject);
    upstream.listen(upstreamPortWanted, '127.0.0.1', resolve);
  });
  const upstreamPort = (upstream.address() as AddressInfo).port;
  // The environment still wins for listen addresses, so the demo can move off busy ports.
  const config: Config = {
    ...base,
    proxy: {
      ...base.proxy,
      upstream: `http://127.0.0.1:${upstreamPort}`,
      listen: env.TOLLGATE_PROXY_LISTEN ? base.proxy.listen : { host: '127.0.0.1', port: 8080 },
    },
    admin: { ...base.admin, listen: env.TOLLGATE_ADMIN_LISTEN ? base.admin.listen : { host: '127.0.0.1', port: 9090 } },
    store: env.TOLLGATE_STORE_BACKEND ? base.store : { ...base.store, backend: 'file', file: { path: './data/demo.jsonl' } },
  };
  const logger = createLogger(config.log.level);
  const store = await createStore(config.store);
  const tollgate = await startTollgate(config, store, logger, systemClock);
  const now = systemClock.now();
  await store.createRepository({ name: DEMO_REPOSITORY, createdAt: now, createdBy: 'demo' });
  const admin = await tollgate.tokens.createUnchecked('demo', {
    kind: 'repository',
    name: 'demo admin',
    repository: ALL_REPOSITORIES,
    rights: [...RIGHTS],
  });
  const data = await tollgate.tokens.createUnchecked('demo', {
    kind: 'repository',
    name: 'demo producer',
    repository: DEMO_REPOSITORY,
    rights: ['query', 'stream'],
    expiresIn: '30d',
  });
  const proxy = `http://127.0.0.1:${tollgate.proxyPort}`;
  const adminUrl = `http://127.0.0.1:${tollgate.adminPort}`;
  const bearer = (secret: string) => `-H "Authorization: Bearer ${secret}"`;
  out.write(
    [
      '',
      'Tollgate demo is running (Ctrl-C to stop).',
      `  proxy  ${proxy}  ->  demo upstream http://127.0.0.1:${upstreamPort}`,
      `  admin  ${adminUrl}`,
      `  store  file ${config.store.file.path}`,
      '',
      `Admin token (all repositories, every right), shown once:`,
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
    ].join('\n') + '\n',
  );
  return waitForSignal(logger, async () => {
    await tollgate.shutdown();
    await new Promise((resolve) => upstream.close(resolve));
  });
}
