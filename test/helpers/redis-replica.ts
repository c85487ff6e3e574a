import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from './redis-server.js';
import { waitFor } from './wait-for.js';

export interface ReplicaPair {
  master: RedisServer;
  replica: RedisServer;
  /** A plain connection to each, for reading what each holds and for INFO. */
  onMaster: Redis;
  onReplica: Redis;
  /** How many WAIT commands the master has served besides the pair's own probes (INFO commandstats). */
  waitsServed(): Promise<number>;
  stop(): Promise<void>;
}

/** A master and one replica (`REPLICAOF`), on free loopback ports, replicating before it returns. */
export async function startReplicaPair(): Promise<ReplicaPair> {
  const master = await startRedis();
  const replica = await startRedis();
  const onMaster = new Redis(master.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  const onReplica = new Redis(replica.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  onReplica.on('error', () => {}); // the replica is killed by some tests
  const stop = async () => {
    onMaster.disconnect();
    onReplica.disconnect();
    await replica.stop();
    await master.stop();
  };
  const waitCalls = async () => Number(/cmdstat_wait:calls=(\d+)/.exec(await onMaster.info('commandstats'))?.[1] ?? 0);
  let probes = 0;
  try {
    // A full sync goes over the socket both ways, so no snapshot file lands in the cwd (the `dir` of these servers).
    await onMaster.config('SET', 'repl-diskless-sync', 'yes', 'repl-diskless-sync-delay', '0');
    await onReplica.config('SET', 'repl-diskless-load', 'on-empty-db');
    await onReplica.replicaof('127.0.0.1', master.port);
    await waitFor(async () => (await onReplica.info('replication')).includes('master_link_status:up'), { what: 'the replica to sync', timeoutMs: 10_000 });
    // Online is not yet acknowledging: after a full sync the replica's first ACK may take its
    // once-a-second cron, and until then a WAIT counts it out. Ready is when a write is acknowledged.
    await onMaster.set('replica-pair:probe', '1');
    await waitFor(async () => (await onMaster.wait(1, 1000)) === 1, { what: 'the replica to acknowledge a write', timeoutMs: 10_000 });
    probes = await waitCalls();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    master,
    replica,
    onMaster,
    onReplica,
    waitsServed: async () => (await waitCalls()) - probes,
    stop,
  };
}
