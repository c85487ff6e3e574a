import type { Config } from '../config/schema.js';
import { createStore } from '../store/create-store.js';
import type { RedisStore } from '../store/redis-store.js';

/**
 * `tollgate reconcile`: recounts the Redis store's token counters and expiry sets from the
 * tokens (a Cluster cannot change a token and its counters in one script; a crash between the
 * two leaves them off). The file and memory stores count from the tokens every time.
 */
export async function reconcile(config: Config, out: NodeJS.WritableStream): Promise<number> {
  const store = await createStore(config.store);
  try {
    if (store.backend !== 'redis') {
      out.write(`nothing to reconcile: the ${store.backend} store counts from its tokens\n`);
      return 0;
    }
    const { tokens } = await (store as RedisStore).reconcile();
    out.write(`recounted ${tokens} tokens; counters and expiry sets repaired, every list index told to reload\n`);
    return 0;
  } finally {
    await store.close();
  }
}
