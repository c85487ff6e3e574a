import { type Attempt, type Delivery, type EventLog, type EventWithDeliveries, type OutEvent, settled, type Taken } from '../event-log.js';
import { StoreUnavailableError } from '../token-store.js';
import type { RedisCommands } from './commands.js';

/**
 * The outbox in Redis (docs/webhooks.md): one stream, a consumer group per webhook, a hash per
 * delivery. The writes of the other roles add their events to the stream (RedisCommands.eventArgs).
 */
export class RedisEvents implements EventLog {
  constructor(private readonly redis: RedisCommands) {}

  keepEventsFor(ms: number): void {
    this.redis.eventRetentionMs = ms;
  }

  async openQueue(webhook: string): Promise<void> {
    try {
      // '$': a new webhook's own events are those from now on.
      await this.redis.client.xgroup('CREATE', this.redis.keys.eventStream, webhook, '$', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw new StoreUnavailableError('openQueue', err);
    }
    await this.forgetGoneConsumers(webhook).catch(() => {}); // tidying only: a failure changes nothing
  }

  /**
   * Each process is a new consumer of the group (its name has the pid and a random part), so
   * restarts would pile names up: those holding nothing and idle for a day are dropped.
   */
  private async forgetGoneConsumers(webhook: string): Promise<void> {
    const { client, keys } = this.redis;
    const consumers = (await client.xinfo('CONSUMERS', keys.eventStream, webhook)) as unknown[][];
    for (const consumer of consumers) {
      const info = new Map<string, unknown>();
      for (let i = 0; i < consumer.length; i += 2) info.set(String(consumer[i]), consumer[i + 1]);
      if (Number(info.get('pending')) === 0 && Number(info.get('idle')) > 86_400_000) {
        await client.xgroup('DELCONSUMER', keys.eventStream, webhook, String(info.get('name')));
      }
    }
  }

  async take(webhook: string, consumer: string, wants: readonly string[], now: number, leaseMs: number): Promise<Taken> {
    const { client, keys } = this.redis;
    const take = () =>
      client.tgTake(
        keys.eventStream,
        webhook,
        consumer,
        String(now),
        String(leaseMs),
        keys.deliveryHead(webhook),
        wants.join(','),
        String(this.redis.eventRetentionMs),
      );
    const reply = await this.redis.run('take', async () => {
      try {
        return await take();
      } catch (err) {
        // The stream or group went (a FLUSHDB, a failover to a replica that never had it): make it again.
        if (!String((err as Error).message).includes('NOGROUP')) throw err;
        await this.openQueue(webhook);
        return take();
      }
    });
    if (reply[0] === 'idle') return { kind: 'idle' };
    if (reply[0] === 'wait') return { kind: 'wait', until: Number(reply[1]) };
    const fields = new Map<string, string>();
    for (let i = 2; i < reply.length; i += 2) fields.set(reply[i]!, reply[i + 1]!);
    return { kind: 'event', event: JSON.parse(reply[1]!) as OutEvent, delivery: deliveryFrom(fields) };
  }

  async settle(webhook: string, event: OutEvent, attempt: Attempt, now: number): Promise<void> {
    const { client, keys } = this.redis;
    const key = keys.deliveryHead(webhook) + event.id;
    const fields = await this.redis.run('settle', () => client.hgetall(key));
    if (fields.state === undefined) return;
    const after = settled(deliveryFrom(new Map(Object.entries(fields))), attempt, now);
    const done = after.state === 'delivered' || after.state === 'failed' ? '1' : '0';
    await this.redis.run('settle', () => client.tgSettle(keys.eventStream, key, webhook, done, ...deliveryArgs(after)));
  }

  async backlog(webhook: string): Promise<number> {
    const groups = (await this.redis.run('backlog', () => this.redis.client.xinfo('GROUPS', this.redis.keys.eventStream))) as unknown[][];
    for (const group of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i < group.length; i += 2) info.set(String(group[i]), group[i + 1]);
      if (info.get('name') === webhook) return Number(info.get('pending') ?? 0) + Number(info.get('lag') ?? 0);
    }
    return 0;
  }

  async recentEvents(limit: number, webhooks: readonly string[]): Promise<EventWithDeliveries[]> {
    const { client, keys } = this.redis;
    const entries = await this.redis.run('recentEvents', () => client.xrevrange(keys.eventStream, '+', '-', 'COUNT', limit));
    const events = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('e') + 1]!) as OutEvent);
    const hashes = await this.redis.run('recentEvents', () =>
      Promise.all(events.flatMap((event) => webhooks.map((webhook) => client.hgetall(keys.deliveryHead(webhook) + event.id)))),
    );
    return events.map((event, i) => {
      const deliveries = new Map<string, Delivery>();
      webhooks.forEach((webhook, j) => {
        const fields = hashes[i * webhooks.length + j]!;
        if (fields.state !== undefined) deliveries.set(webhook, deliveryFrom(new Map(Object.entries(fields))));
      });
      return { ...event, deliveries };
    });
  }

  async appendEventOnce(key: string, event: OutEvent, keepUntil: number): Promise<boolean> {
    const { client, keys } = this.redis;
    const minId = String(Date.now() - this.redis.eventRetentionMs);
    const added = await this.redis.run('appendEventOnce', () =>
      client.tgOnce(keys.eventOnce, keys.eventStream, key, String(keepUntil), String(event.at), minId, event.id, event.type, JSON.stringify(event)),
    );
    return added === 1;
  }
}

const numberOrNull = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));

/** A delivery from its hash fields (absent and empty fields are null). */
function deliveryFrom(fields: ReadonlyMap<string, string>): Delivery {
  return {
    state: (fields.get('state') ?? 'sending') as Delivery['state'],
    attempts: Number(fields.get('attempts') ?? 0),
    lastAttemptAt: numberOrNull(fields.get('lastAttemptAt')),
    leaseUntil: numberOrNull(fields.get('leaseUntil')),
    nextAttemptAt: numberOrNull(fields.get('nextAttemptAt')),
    deliveredAt: numberOrNull(fields.get('deliveredAt')),
    lastStatus: numberOrNull(fields.get('lastStatus')),
    lastError: fields.get('lastError') || null,
  };
}

/** A delivery as hash fields and values (null as ''). */
function deliveryArgs(delivery: Delivery): string[] {
  return Object.entries(delivery).flatMap(([key, value]) => [key, value === null ? '' : String(value)]);
}
