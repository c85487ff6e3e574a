import { EVENT_RETENTION_MS, type OutEvent } from '../event-log.js';
import { type StoreHealthListener, StoreUnavailableError } from '../token-store.js';
import { connectRedis, type RedisClient, type RedisTopology } from './connection.js';
import { RedisKeys } from './keys.js';
import {
  BUDGET_RETURN,
  BUDGET_TAKE,
  BUMP,
  CHANGE,
  CREATE,
  DELETE,
  LEASE,
  ONCE,
  ORGANIZATION,
  RECORD,
  type Scripts,
  SETTLE,
  TAKE,
  TOUCH,
  tokenScript,
  UPDATE,
  USAGE_ADD,
} from './scripts.js';

export interface RedisStoreOptions extends RedisTopology {
  keyPrefix: string;
  /** How often this replica publishes a heartbeat on the invalidation channel (default 2 s). */
  heartbeatMs?: number;
  /** The subscription heard nothing for three heartbeats: the cache was reset and the subscriber renewed. */
  onChannelSilent?: (silentMs: number) => void;
}

/**
 * The one commands connection every role of the Redis store runs on: the client with its scripts,
 * the key names, whether one server holds every key, and the outage bookkeeping each command goes
 * through (run()). The client is set for a proxy: no offline queue and a short command timeout,
 * so an outage turns into a quick 503 instead of requests piling up.
 */
export class RedisCommands {
  readonly client: RedisClient & Scripts;
  readonly keys: RedisKeys;
  /** One server holds every key: a token's change and its counters are one script. */
  readonly atomic: boolean;
  /** Told of outages, recoveries and reconnects (watchHealth). */
  health: StoreHealthListener | undefined;
  /** False from a failed command until one succeeds: outages are reported once, not per command. */
  private isAnswering = true;
  /** When a command last succeeded (epoch ms): what ping() answers from while it is recent. */
  lastOkAt = 0;
  /** How long the event stream keeps events (events.retention). */
  eventRetentionMs = EVENT_RETENTION_MS;

  constructor(readonly options: RedisStoreOptions) {
    this.keys = new RedisKeys(options.keyPrefix);
    this.client = connectRedis(options, 'commands') as RedisClient & Scripts;
    this.atomic = (options.cluster ?? []).length === 0;
    const tokenKeys = this.atomic ? 8 : 2;
    this.client.defineCommand('tgCreate', { numberOfKeys: tokenKeys, lua: tokenScript(CREATE, this.atomic) });
    this.client.defineCommand('tgUpdate', { numberOfKeys: tokenKeys, lua: tokenScript(UPDATE, this.atomic) });
    this.client.defineCommand('tgDelete', { numberOfKeys: tokenKeys, lua: tokenScript(DELETE, this.atomic) });
    this.client.defineCommand('tgTouch', { numberOfKeys: 1, lua: TOUCH });
    this.client.defineCommand('tgBump', { numberOfKeys: 2, lua: BUMP });
    this.client.defineCommand('tgChange', { numberOfKeys: 5, lua: CHANGE });
    this.client.defineCommand('tgRecord', { numberOfKeys: 3, lua: RECORD });
    this.client.defineCommand('tgOrganization', { numberOfKeys: 3, lua: ORGANIZATION });
    this.client.defineCommand('tgTake', { numberOfKeys: 1, lua: TAKE });
    this.client.defineCommand('tgSettle', { numberOfKeys: 2, lua: SETTLE });
    this.client.defineCommand('tgOnce', { numberOfKeys: 2, lua: ONCE });
    this.client.defineCommand('tgLease', { numberOfKeys: 1, lua: LEASE });
    this.client.defineCommand('tgBudgetTake', { numberOfKeys: 2, lua: BUDGET_TAKE });
    this.client.defineCommand('tgBudgetReturn', { numberOfKeys: 1, lua: BUDGET_RETURN });
    this.client.defineCommand('tgUsageAdd', { numberOfKeys: 1, lua: USAGE_ADD });
  }

  /**
   * Runs one command (or one batch sent together): its failure becomes StoreUnavailableError
   * naming `op`, and the first failure of an outage and the first success after it are told to
   * the health listener, once each.
   */
  async run<T>(op: string, command: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await command();
    } catch (err) {
      this.lastOkAt = 0; // a failure is news: the next probe asks Redis itself
      if (this.isAnswering) {
        this.isAnswering = false;
        this.health?.onOutage(op, err);
      }
      throw new StoreUnavailableError(op, err);
    }
    this.lastOkAt = Date.now();
    if (!this.isAnswering) {
      this.isAnswering = true;
      this.health?.onRecovery();
    }
    return result;
  }

  /**
   * The events argument of a write script (see EMIT in scripts.ts). On Cluster the stream
   * is in another slot than the write: the script gets none and appendAfter() adds them.
   */
  eventArgs(events: readonly OutEvent[] | undefined): string[] {
    const list = this.atomic ? (events ?? []) : [];
    // MINID is in Redis's time (stream ids are the server's clock), not an injected clock.
    const args = [String(Date.now() - this.eventRetentionMs), String(list.length)];
    for (const event of list) args.push(event.id, event.type, JSON.stringify(event));
    return args;
  }

  /**
   * Cluster only: appends a write's events after it (its keys and the stream are in different
   * slots). A crash between the two loses the events; docs/webhooks.md says so.
   */
  async appendAfter(op: string, events: readonly OutEvent[] | undefined): Promise<void> {
    if (this.atomic || !events || events.length === 0) return;
    const minId = String(Date.now() - this.eventRetentionMs);
    for (const event of events) {
      await this.run(op, () =>
        this.client.xadd(this.keys.eventStream, 'MINID', '~', minId, '*', 'id', event.id, 'type', event.type, 'e', JSON.stringify(event)),
      );
    }
  }
}
