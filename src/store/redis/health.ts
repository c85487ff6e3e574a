import type { StoreHealth, StoreHealthListener } from '../token-store.js';
import type { RedisCommands } from './commands.js';
import type { RedisClient } from './connection.js';

/** Whether Redis answers: readiness from the commands connection, and who hears of outages. */
export class RedisHealth implements Omit<StoreHealth, 'backend' | 'close'> {
  constructor(private readonly redis: RedisCommands) {}

  /** Resolves once the first connections are up (commands, and the writer when it is another), or after `withinMs` (the store may come later). */
  async waitUntilReady(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    const { client, writer } = this.redis;
    const ready = await readyBy(client, deadline);
    return writer === client ? ready : ready && (await readyBy(writer, deadline));
  }

  watchHealth(listener: StoreHealthListener): void {
    this.redis.health = listener;
    // 'ready' follows every (re)connect; the first one is the start, not news.
    let isFirstReady = this.redis.client.status !== 'ready';
    this.redis.client.on('ready', () => {
      if (!isFirstReady) listener.onReconnect('commands');
      isFirstReady = false;
    });
  }

  /**
   * Answers from the connection's state and the last successful command when that was within
   * a second (probes and scrapes then cost no round trip), else with a real PING.
   */
  async ping(): Promise<void> {
    if (this.redis.client.status === 'ready' && Date.now() - this.redis.lastOkAt < 1000) return;
    await this.redis.run('ping', () => this.redis.client.ping());
  }
}

function readyBy(client: RedisClient, deadline: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), Math.max(0, deadline - Date.now()));
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => finish(true);
    client.on('ready', onReady);
  });
}
