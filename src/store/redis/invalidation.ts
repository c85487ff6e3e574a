import type { Invalidation, InvalidationListener, Invalidations } from '../token-store.js';
import { ChannelWatch } from './channel-watch.js';
import type { RedisCommands } from './commands.js';
import { connectRedis, type RedisClient } from './connection.js';

/**
 * Invalidations over Redis pub/sub: published on the commands connection, heard on a subscriber
 * connection of their own, with a heartbeat channel that tells a silent subscription from a quiet one.
 */
export class RedisInvalidations implements Invalidations {
  private subscriber: RedisClient | undefined;
  private watch: ChannelWatch | undefined;
  private readonly listeners: InvalidationListener[] = [];

  constructor(private readonly redis: RedisCommands) {}

  async publish(message: Invalidation): Promise<void> {
    await this.redis.run('publish', () => this.redis.client.publish(this.redis.keys.invalidations, JSON.stringify(message)));
  }

  subscribe(listener: InvalidationListener): void {
    const { client, keys, options } = this.redis;
    if (!this.subscriber) {
      // A subscribed connection can run no other command, so it is a connection of its own.
      this.subscriber = connectRedis(options, 'subscriber');
      void this.subscriber.subscribe(keys.invalidations, keys.heartbeats).catch(() => {});
      this.watch = new ChannelWatch({
        intervalMs: options.heartbeatMs ?? 2000,
        now: () => Date.now(),
        // Heartbeats go on a channel of their own: a replica of an earlier version reads an
        // unknown message on the invalidation channel as "clear everything".
        beat: () => client.publish(keys.heartbeats, '1'),
        onSilent: (silentMs) => {
          for (const each of this.listeners) each.onReset();
          this.renewSubscriber();
          options.onChannelSilent?.(silentMs);
        },
      });
      this.watch.start();
      this.subscriber.on('message', (channel: string) => {
        if (channel === keys.invalidations || channel === keys.heartbeats) this.watch?.heard();
      });
    }
    this.listeners.push(listener);
    let isFirstReady = true;
    this.subscriber.on('ready', () => {
      if (!isFirstReady) {
        this.redis.health?.onReconnect('subscriber');
        listener.onReset();
      }
      isFirstReady = false;
    });
    this.subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== keys.invalidations) return;
      try {
        listener.onMessage(JSON.parse(payload) as Invalidation);
      } catch {
        listener.onReset(); // a message we cannot read may have named anything
      }
    });
  }

  /**
   * Drops the subscriber's connection and subscribes again on the new one: a deaf connection may
   * still look healthy, and a subscription lost on it would not be restored by reconnecting alone.
   */
  private renewSubscriber(): void {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    subscriber.disconnect(true);
    void subscriber.subscribe(this.redis.keys.invalidations, this.redis.keys.heartbeats).catch(() => {});
  }

  /** Stops the heartbeat; the subscriber's connection is closed by close(). */
  stopWatch(): void {
    this.watch?.stop();
  }

  /** Closes the subscriber's connection. */
  close(): void {
    this.subscriber?.disconnect();
  }
}
