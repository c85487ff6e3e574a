import type { Redis } from 'ioredis';
import { EVENT_RETENTION_MS, type OutEvent } from '../event-log.js';
import { type Invalidation, type StoreHealthListener, StoreUnavailableError, StoreWriteUnconfirmed } from '../token-store.js';
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
  /** Replicas that must acknowledge each token or directory write (Redis WAIT); 0 or absent: none is awaited. */
  waitReplicas?: number;
  /** How long a write waits for them (default 1 s). */
  waitTimeoutMs?: number;
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

  /**
   * The connection token and directory writes go on, and WAIT after them (WAIT counts the writes
   * of its own connection). With `waitReplicas` 0 it is `client`; else a second connection, so a
   * WAIT that blocks for `waitTimeout` while a replica is behind never holds up the lookups the
   * hot path sends on `client`.
   */
  readonly writer: RedisClient & Scripts;
  /**
   * The writer as a single-node connection (waitReplicas is refused with a Cluster): its socket
   * tells whether a WAIT went on the connection that carried the write.
   */
  private readonly waitsOn: Redis | undefined;

  constructor(readonly options: RedisStoreOptions) {
    this.keys = new RedisKeys(options.keyPrefix);
    this.client = connectRedis(options, 'commands') as RedisClient & Scripts;
    this.atomic = (options.cluster ?? []).length === 0;
    const waitReplicas = options.waitReplicas ?? 0;
    if (waitReplicas > 0 && !this.atomic) throw new Error('store.redis.waitReplicas needs 0 on a Redis Cluster');
    defineScripts(this.client, this.atomic);
    if (waitReplicas > 0) {
      // The WAIT may take all of waitTimeout; the command timeout still bounds the rest.
      const writerTimeout = options.commandTimeoutMs + (options.waitTimeoutMs ?? 1000);
      this.writer = connectRedis({ ...options, commandTimeoutMs: writerTimeout }, 'commands') as RedisClient & Scripts;
      defineScripts(this.writer, this.atomic);
      this.waitsOn = this.writer as Redis;
    } else {
      this.writer = this.client;
    }
  }

  /** Where a security write begins (the writer's socket): confirm() takes it back, to see the connection did not change between. */
  writeMark(): unknown {
    return this.waitsOn?.stream;
  }

  /**
   * After a token or directory write on `writer`: WAIT for `waitReplicas` replicas to
   * acknowledge everything this connection wrote, for at most `waitTimeout`. Fewer in time (or
   * a reconnect since `mark`, whose WAIT would count a fresh connection's nothing) throws
   * StoreWriteUnconfirmed, after publishing `evict`: the change stands on the master, and the
   * caller that would have published it now gets an error instead, so every replica's cache
   * drops what it changed here (a revoke retried answers 409 and publishes nothing either).
   * Nothing is sent while waitReplicas is 0.
   */
  async confirm(op: string, mark: unknown, evict: Invalidation): Promise<void> {
    const wanted = this.options.waitReplicas ?? 0;
    if (wanted === 0) return;
    const waitMs = this.options.waitTimeoutMs ?? 1000;
    const acknowledged = await this.run(op, () => this.writer.wait(wanted, waitMs));
    const reconnected = this.waitsOn?.stream !== mark;
    if (!reconnected && acknowledged >= wanted) return;
    // run() has counted a failed publish (store health); the caller is told of the write below.
    await this.run('publish', () => this.client.publish(this.keys.invalidations, JSON.stringify(evict))).catch(() => {});
    throw new StoreWriteUnconfirmed(op, reconnected ? 0 : acknowledged, wanted, waitMs);
  }

  /** Closes both connections. */
  disconnect(): void {
    this.client.disconnect();
    if (this.writer !== this.client) this.writer.disconnect();
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

/** Every script, on one connection: the commands connection, and the writer when it is another. */
function defineScripts(client: RedisClient & Scripts, atomic: boolean): void {
  const tokenKeys = atomic ? 8 : 2;
  client.defineCommand('tgCreate', { numberOfKeys: tokenKeys, lua: tokenScript(CREATE, atomic) });
  client.defineCommand('tgUpdate', { numberOfKeys: tokenKeys, lua: tokenScript(UPDATE, atomic) });
  client.defineCommand('tgDelete', { numberOfKeys: tokenKeys, lua: tokenScript(DELETE, atomic) });
  client.defineCommand('tgTouch', { numberOfKeys: 1, lua: TOUCH });
  client.defineCommand('tgBump', { numberOfKeys: 2, lua: BUMP });
  client.defineCommand('tgChange', { numberOfKeys: 5, lua: CHANGE });
  client.defineCommand('tgRecord', { numberOfKeys: 3, lua: RECORD });
  client.defineCommand('tgOrganization', { numberOfKeys: 3, lua: ORGANIZATION });
  client.defineCommand('tgTake', { numberOfKeys: 1, lua: TAKE });
  client.defineCommand('tgSettle', { numberOfKeys: 2, lua: SETTLE });
  client.defineCommand('tgOnce', { numberOfKeys: 2, lua: ONCE });
  client.defineCommand('tgLease', { numberOfKeys: 1, lua: LEASE });
  client.defineCommand('tgBudgetTake', { numberOfKeys: 2, lua: BUDGET_TAKE });
  client.defineCommand('tgBudgetReturn', { numberOfKeys: 1, lua: BUDGET_RETURN });
  client.defineCommand('tgUsageAdd', { numberOfKeys: 1, lua: USAGE_ADD });
}
