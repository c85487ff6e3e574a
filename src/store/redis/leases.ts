import { createHash } from 'node:crypto';
import type { Leases } from '../token-store.js';
import type { RedisCommands } from './commands.js';

/** Leases and name claims in Redis: a key each, set with NX and an expiry in Redis's own time. */
export class RedisLeases implements Leases {
  constructor(private readonly redis: RedisCommands) {}

  /** The lease's time is Redis's own (PX), not `now`. */
  async lease(name: string, holder: string, ms: number, _now?: number): Promise<boolean> {
    return (await this.redis.run('lease', () => this.redis.client.tgLease(this.redis.keys.lease(name), holder, String(ms)))) === 1;
  }

  async claimName(scope: string, name: string, ttlMs: number): Promise<boolean> {
    const key = this.redis.keys.nameClaim(nameDigest(scope, name));
    return (await this.redis.run('claimName', () => this.redis.client.set(key, '1', 'PX', ttlMs, 'NX'))) === 'OK';
  }

  async releaseName(scope: string, name: string): Promise<void> {
    const key = this.redis.keys.nameClaim(nameDigest(scope, name));
    await this.redis.run('releaseName', () => this.redis.client.del(key));
  }
}

/** A fixed-length key part for a name in its scope (a name may hold any printable character). */
const nameDigest = (scope: string, name: string): string => createHash('sha256').update(`${scope}\n${name}`).digest('base64url').slice(0, 32);
