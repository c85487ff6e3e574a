import { AsyncLocalStorage } from 'node:async_hooks';
import { StoreWriteUnconfirmed } from '../store/token-store.js';

/** The unconfirmed writes of the call in progress, where that call runs to its end (`toTheEnd`). */
const running = new AsyncLocalStorage<StoreWriteUnconfirmed[]>();

/**
 * Runs a call that ends access (a revoke, a delete, a leak report, a roll, an edit that shortens)
 * to its end although some of its writes were not confirmed by replicas (`store.redis.waitReplicas`),
 * then reports the first of them. Such a call is a chain of writes: the token, then every token it
 * lent, down the line. An unconfirmed write stands on the master, so stopping at it would leave
 * the master with a revoked maker and its loans still active, and a retry would find the maker
 * revoked already (409) and never reach them: loans that outlive their lender. So each write counts
 * as made (`applied`), the chain goes on, and the caller still gets the 503 that says to retry.
 * A call inside another (a bulk delete's deletes) joins the outer one's list.
 */
export async function toTheEnd<T>(call: () => Promise<T>): Promise<T> {
  if (running.getStore() !== undefined) return call();
  const unconfirmed: StoreWriteUnconfirmed[] = [];
  const result = await running.run(unconfirmed, call);
  if (unconfirmed.length > 0) throw unconfirmed[0];
  return result;
}

/**
 * A token write's outcome. Within `toTheEnd`, a write the master made but replicas did not confirm
 * answers `made` (the store throws StoreWriteUnconfirmed only after a write that was made) and is
 * kept for the end of the call; anywhere else it throws as it came.
 */
export async function applied<T>(write: Promise<T>, made: T): Promise<T> {
  try {
    return await write;
  } catch (err) {
    const unconfirmed = running.getStore();
    if (!(err instanceof StoreWriteUnconfirmed) || unconfirmed === undefined) throw err;
    unconfirmed.push(err);
    return made;
  }
}
