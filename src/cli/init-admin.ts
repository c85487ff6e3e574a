import { Invalidator } from '../admin/invalidator.js';
import { TokenService } from '../admin/token-service.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { emittingStore } from '../events/emitting-store.js';
import { createStore } from '../store/create-store.js';
import { ALL_REPOSITORIES, RIGHTS } from '../tokens/record.js';
import { visible } from './terminal-text.js';

/** `tollgate init-admin`: writes a `*` admin token straight into the store and prints its secret once. */
export async function initAdmin(config: Config, name: string, out: NodeJS.WritableStream): Promise<number> {
  const store = await createStore(config.store);
  try {
    await store.ping();
    // Nothing is cached by this short-lived process, so there is nothing local to evict.
    // Its token.created goes to the webhooks too (sent by the serving replicas).
    const tokens = new TokenService({
      store: config.events.webhooks.length > 0 ? emittingStore(store, systemClock) : store,
      clock: systemClock,
      invalidator: new Invalidator({ apply() {} }, store),
      connectUri: config.admin.connectUri,
    });
    const { token, secret } = await tokens.createUnchecked('init-admin', {
      kind: 'repository',
      name,
      repository: ALL_REPOSITORIES,
      rights: [...RIGHTS],
    });
    out.write(`Created admin token ${token.id} (${visible(token.name)}) for all repositories.\n`);
    out.write(`Secret (shown once, store it now):\n${secret}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
