import type { EventLog } from './event-log.js';
import type { BudgetStore } from './roles/budgets.js';
import type { Directory } from './roles/directory.js';
import type { StoreHealth } from './roles/health.js';
import type { Invalidations } from './roles/invalidation.js';
import type { Leases } from './roles/leases.js';
import type { TokenRecords } from './roles/tokens.js';
import type { UsageCount, UsageStore } from './usage-log.js';

export type { BudgetGrant, BudgetKey, BudgetStore, BudgetTake } from './roles/budgets.js';
export type { Directory, OrganizationDeleteOutcome, OrganizationStore } from './roles/directory.js';
export type { StoreHealth, StoreHealthListener } from './roles/health.js';
export type { Invalidation, InvalidationListener, Invalidations } from './roles/invalidation.js';
export type { Leases } from './roles/leases.js';
export type { TokenCount, TokenRecords, WriteOutcome } from './roles/tokens.js';
export type { UsageStore } from './usage-log.js';

/**
 * Where tokens, their history, the directory, invalidations, budgets, events, usage and leases
 * live: the union of the store's roles (src/store/roles/, event-log.ts and usage-log.ts), each of
 * which a consumer takes alone. Each backend implements them in files by role (redis/, memory/)
 * and passes the same contract suite (test/contract), one section per role. Methods reject
 * with StoreUnavailableError when the backend cannot answer; they never hang past the backend's
 * command timeout.
 */
export interface TokenStore extends TokenRecords, Directory, Invalidations, BudgetStore, EventLog, UsageStore, Leases, StoreHealth {}

/** The backend did not answer (down, too slow, or refusing): callers fail closed with 503. */
export class StoreUnavailableError extends Error {
  readonly code = 'TG_STORE_UNAVAILABLE';
  readonly status = 503;
  constructor(
    readonly op: string,
    cause?: unknown,
  ) {
    super(`token store unavailable during ${op}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * A write the master applied that fewer replicas than `store.redis.waitReplicas` acknowledged
 * within `store.redis.waitTimeout` (Redis WAIT): a failover now could undo it, so the caller is
 * told it failed, as in an outage, and may repeat it. MongoDB's write concern timeout is the
 * model: the write stays on the master; it is the confirmation that is missing.
 */
export class StoreWriteUnconfirmed extends StoreUnavailableError {
  /** Said to an admin API caller in the problem's `detail`. */
  readonly detail: string;
  constructor(
    op: string,
    readonly acknowledged: number,
    readonly wanted: number,
    readonly waitedMs: number,
  ) {
    super(op);
    this.name = 'StoreWriteUnconfirmed';
    this.detail =
      `The change was made on the Redis master, but ${acknowledged} of the ${wanted} replica(s) store.redis.waitReplicas asks for ` +
      `acknowledged it within ${waitedMs} ms, so a failover could undo it. Retry; a later write that is confirmed confirms this one too.`;
    this.message = `token store write not confirmed during ${op}: ${acknowledged} of ${wanted} replica(s) acknowledged within ${waitedMs} ms`;
  }
}

/** Some of a usage batch was not added (the rest was): what to add again, and nothing more, so nothing counts twice. */
export class UsageNotWritten extends StoreUnavailableError {
  constructor(
    readonly unwritten: readonly UsageCount[],
    cause?: unknown,
  ) {
    super('addUsage', cause);
  }
}
