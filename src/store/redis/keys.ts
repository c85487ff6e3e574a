/**
 * Every key and channel name of the Redis store, made in one place. A token's own keys share the
 * hash tag `{<id>}` (its hash and history: one slot, so its scripts run on a Cluster); the change
 * log and counters share `{idx}`.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  token(id: string): string {
    return `${this.prefix}token:{${id}}`;
  }

  /** What every token key starts with (its id follows, then `}`): for SCAN. */
  get tokenHead(): string {
    return `${this.prefix}token:{`;
  }

  history(id: string): string {
    return `${this.prefix}history:{${id}}`;
  }

  /** A budget counter of the token's limits (its {id} hash tag: the same slot as the token). */
  budget(id: string, limit: string, window: number): string {
    return `${this.prefix}budget:{${id}}:${limit}:${window}`;
  }

  /** One token's usage in one UTC day (`day`: its start): fields per hour (its {id} hash tag: the token's slot). */
  usage(id: string, day: number): string {
    return `${this.prefix}usage:{${id}}:${day}`;
  }

  /** The tokens with usage in one UTC day, each with its repository (GET /v1/usage reads it). */
  usageDay(day: number): string {
    return `${this.prefix}usage-day:${day}`;
  }

  get seq(): string {
    return `${this.prefix}{idx}:seq`;
  }

  get changes(): string {
    return `${this.prefix}{idx}:changes`;
  }

  get counts(): string {
    return `${this.prefix}{idx}:counts`;
  }

  expiry(kind: 'repository' | 'personal'): string {
    return `${this.prefix}{idx}:expiry:${kind}`;
  }

  /** The five keys a change of state touches, in the order the scripts take them. */
  get changeKeys(): [string, string, string, string, string] {
    return [this.seq, this.changes, this.counts, this.expiry('repository'), this.expiry('personal')];
  }

  get users(): string {
    return `${this.prefix}users`;
  }

  get repositories(): string {
    return `${this.prefix}repositories`;
  }

  /**
   * Organizations: one hash in the slot of `repositories` (a hash tag naming that whole key,
   * unless the prefix carries a tag of its own, which then holds every key), so creating a
   * repository and deleting an organization check each other in one script on a Cluster too.
   */
  get organizations(): string {
    return this.prefix.includes('{') ? `${this.prefix}organizations` : `{${this.repositories}}:organizations`;
  }

  get teams(): string {
    return `${this.prefix}teams`;
  }

  /** A short-lived claim on a token name in its scope (`digest`: of scope and name), taken while a create or rename checks it is free. */
  nameClaim(digest: string): string {
    return `${this.prefix}name-claim:${digest}`;
  }

  teamHistory(name: string): string {
    return `${this.prefix}team-history:${name}`;
  }

  /** The set of teams naming a user (read on a cache miss). */
  userTeams(user: string): string {
    return `${this.prefix}user-teams:${user}`;
  }

  // The outbox (docs/webhooks.md): every key under {events}, so its scripts run on a Cluster too.

  get eventStream(): string {
    return `${this.prefix}{events}:stream`;
  }

  /** What a delivery's hash key starts with; the event id follows. */
  deliveryHead(webhook: string): string {
    return `${this.prefix}{events}:delivery:${webhook}:`;
  }

  get eventOnce(): string {
    return `${this.prefix}{events}:once`;
  }

  lease(name: string): string {
    return `${this.prefix}{events}:lease:${name}`;
  }

  get invalidations(): string {
    return `${this.prefix}invalidate`;
  }

  get heartbeats(): string {
    return `${this.prefix}heartbeat`;
  }
}
