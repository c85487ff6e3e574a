import { type DuplicateName, describeScope, duplicateNames } from '../admin/token-names.js';
import type { Config } from '../config/schema.js';
import { createStore } from '../store/create-store.js';
import type { RedisStore } from '../store/redis-store.js';
import { visible } from './terminal-text.js';

/**
 * Names held by more than one token in a scope (written before names were unique): kept as they
 * are, listed so an operator can rename all but one (`tollgate token edit ID --name NEW`).
 */
export function describeDuplicates(duplicates: readonly DuplicateName[]): string {
  if (duplicates.length === 0) return 'no duplicate token names\n';
  const lines = duplicates.map(
    (d) => `  ${visible(describeScope(d.scope))}: ${visible(JSON.stringify(d.name))} held by ${d.ids.length} tokens: ${d.ids.join(', ')}\n`,
  );
  return `${duplicates.length} token name${duplicates.length === 1 ? ' is' : 's are'} held by more than one token in a scope; rename all but one (tollgate token edit ID --name NEW):\n${lines.join('')}`;
}

/**
 * `tollgate reconcile`: recounts the Redis store's token counters and expiry sets from the
 * tokens (a Cluster cannot change a token and its counters in one script; a crash between the
 * two leaves them off). The file and memory stores count from the tokens every time. On every
 * store it then lists token names held twice in one scope.
 */
export async function reconcile(config: Config, out: NodeJS.WritableStream): Promise<number> {
  const store = await createStore(config.store);
  try {
    if (store.backend !== 'redis') {
      out.write(`nothing to recount: the ${store.backend} store counts from its tokens\n`);
    } else {
      const { tokens } = await (store as RedisStore).reconcile();
      out.write(`recounted ${tokens} tokens; counters and expiry sets repaired, every list index told to reload\n`);
    }
    out.write(describeDuplicates(duplicateNames(await store.listTokens())));
    return 0;
  } finally {
    await store.close();
  }
}
