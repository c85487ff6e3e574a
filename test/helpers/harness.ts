import type { CreatedToken } from '../../src/admin/token-service.js';
import { startTollgate, type Tollgate } from '../../src/app.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { TokenStore } from '../../src/store/token-store.js';
import { RIGHTS, type Right } from '../../src/tokens/record.js';
import { FakeClock } from './fakes.js';
import { startUpstream, type Upstream, type UpstreamHandler } from './upstream.js';

type Tree = Record<string, unknown>;

export interface HarnessOptions {
  store?: TokenStore;
  /** Raw config values (durations as text) laid over the test defaults. */
  config?: Tree;
  upstream?: UpstreamHandler;
  clock?: FakeClock;
  /** Silent unless given (tests that read the log pass one writing into an array). */
  logger?: Logger;
}

export interface Harness {
  tollgate: Tollgate;
  upstream: Upstream;
  config: Config;
  clock: FakeClock;
  proxy: string;
  admin: string;
  adminSecret: string;
  /** Makes a repository token on `repository` with `rights`. */
  token(rights: Right[], repository?: string, extra?: Tree): Promise<CreatedToken>;
  close(): Promise<void>;
}

/** Harness tokens get names of their own: names are unique per repository (docs/tokens.md). */
let made = 0;

/** Tollgate in this process on loopback port 0, in front of a recording upstream. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const upstream = await startUpstream(options.upstream);
  const config = validate(
    merge(
      merge(DEFAULTS, {
        proxy: { listen: '127.0.0.1:0', upstream: upstream.origin, accessLog: false },
        admin: { listen: '127.0.0.1:0' },
        store: { backend: 'memory' },
        log: { level: 'silent' },
      }),
      options.config ?? {},
    ),
  );
  const store = options.store ?? new MemoryStore();
  const clock = options.clock ?? new FakeClock(Date.now());
  const tollgate = await startTollgate(config, store, options.logger ?? createLogger('silent'), clock);
  for (const name of ['sensors', 'billing']) await store.createRepository({ name, createdAt: clock.now(), createdBy: 'test' });
  const admin = await tollgate.tokens.createUnchecked('test', {
    kind: 'repository',
    // Two harnesses may share one store (replicas): the second admin takes a name of its own.
    name: [...(await store.listTokens())].some((t) => t.name === 'test admin') ? `test admin ${++made}` : 'test admin',
    repository: '*',
    rights: [...RIGHTS], // as init-admin: an admin hands out no right it does not hold itself
  });
  return {
    tollgate,
    upstream,
    config,
    clock,
    proxy: `http://127.0.0.1:${tollgate.proxyPort}`,
    admin: `http://127.0.0.1:${tollgate.adminPort}`,
    adminSecret: admin.secret,
    token: (rights, repository = 'sensors', extra = {}) =>
      tollgate.tokens.createUnchecked('test', { kind: 'repository', name: `test-${++made}`, repository, rights, ...extra }),
    async close() {
      await tollgate.shutdown(0);
      await upstream.close();
    },
  };
}

export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
