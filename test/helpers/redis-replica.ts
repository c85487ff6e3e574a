import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from './redis-server.js';
import { waitFor } from './wait-for.js';

export interface ReplicaPair {
  master: RedisServer;
  replica: RedisServer;
  /** A plain connection to each, for reading what each holds and for INFO. */
  onMaster: Redis;
  onReplica: Redis;
  /** How many WAIT commands the master has served since it started (INFO commandstats). */
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
  await onReplica.replicaof('127.0.0.1', master.port);
  await waitFor(async () => (await onReplica.info('replication')).includes('master_link_status:up'), { what: 'the replica to sync', timeoutMs: 10_000 });
  await waitFor(async () => (await onMaster.info('replication')).includes('connected_slaves:1'), { what: 'the master to see its replica', timeoutMs: 10_000 });
  return {
    master,
    replica,
    onMaster,
    onReplica,
    async waitsServed() {
      const stats = await onMaster.info('commandstats');
      return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    },
    async stop() {
      onMaster.disconnect();
      onReplica.disconnect();
      await replica.stop();
      await master.stop();
    },
  };
}
