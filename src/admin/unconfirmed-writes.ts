import { StoreWriteUnconfirmed } from '../store/token-store.js';

/**
 * The unconfirmed writes of one call that ends access (a revoke, a delete, a leak report, a
 * roll, an edit that shortens), passed down its steps. Such a call is a chain of writes: the
 * token, then every token it lent, down the line. A write replicas did not confirm
 * (`store.redis.waitReplicas`) stands on the master, so stopping at it would leave the master with
 * a revoked maker and its loans still active, and a retry would find the maker revoked already
 * (409) and never reach them: loans that outlive their lender. So each write counts as made
 * (`applied`), the chain goes on, and `toTheEnd` still answers the 503 that says to retry.
 *
 * An explicit object rather than AsyncLocalStorage: on Node 22 a store that is run() turns on
 * async hooks for the whole process, which every request of the data plane would then pay.
 */
export class UnconfirmedWrites {
  private readonly seen: StoreWriteUnconfirmed[] = [];

  /** A token write's outcome; a write the master made but replicas did not confirm answers `made` (the store throws only after a write that was made). */
  async applied<T>(write: Promise<T>, made: T): Promise<T> {
    try {
      return await write;
    } catch (err) {
      if (!(err instanceof StoreWriteUnconfirmed)) throw err;
      this.seen.push(err);
      return made;
    }
  }

  /** Throws the first unconfirmed write, once the call is done. */
  settle(): void {
    if (this.seen.length > 0) throw this.seen[0];
  }
}

/** Runs `call` with a list of its own, then reports the first unconfirmed write it made. */
export async function toTheEnd<T>(call: (writes: UnconfirmedWrites) => Promise<T>): Promise<T> {
  const writes = new UnconfirmedWrites();
  const result = await call(writes);
  writes.settle();
  return result;
}

/** `write`'s outcome: through `writes` when the call goes to its end, else as the store answers. */
export const outcomeOf = <T>(writes: UnconfirmedWrites | undefined, write: Promise<T>, made: T): Promise<T> =>
  writes === undefined ? write : writes.applied(write, made);
