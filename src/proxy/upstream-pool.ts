import { createRequire } from 'node:module';
import type { Pool as PoolClass } from 'undici';

/**
 * undici's Pool alone. The package's entry point also loads fetch, WebSocket, the cache and
 * the mock agent, which the proxy never uses: importing the Pool module directly keeps about
 * 9 MiB out of every sidecar's resident memory (measured in bench/RESULTS.md). undici has no
 * `exports` map, so the path is public in practice; test/proxy/upstream-pool.test.ts checks it
 * is the same class the entry point exports, so an upgrade that moves it fails the suite.
 */
const require = createRequire(import.meta.url);
export const Pool: typeof PoolClass = require('undici/lib/dispatcher/pool.js');
export type Pool = PoolClass;
