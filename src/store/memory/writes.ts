import type { OutEvent } from '../event-log.js';
import { type Change, MemoryState } from './state.js';

/** The events argument as a journal field: absent when there are none, so old lines stay alike. */
export const withEvents = (events: readonly OutEvent[] | undefined) => (events && events.length > 0 ? { events: [...events] } : {});

export const copy = <T>(value: T): T => structuredClone(value);

/**
 * The model every role of the memory store shares, and the way each role changes it: one step at
 * a time (exclusive()), each change handed to `persist` first (the file store's journal) and then
 * applied (commit()).
 */
export class MemoryWrites {
  readonly state = new MemoryState();

  /** `persist`: called before a change is applied to memory; the file store makes it durable there. */
  constructor(private readonly persist: (change: Change) => Promise<void>) {}

  async commit(change: Change): Promise<void> {
    await this.persist(change);
    this.state.apply(change);
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs check-then-write steps one at a time, so two racing creates cannot both win. */
  exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
