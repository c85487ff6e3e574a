/** What a replica must drop from its cache; `at` is the publish time (epoch ms) for lag metrics. */
export type Invalidation =
  | { at: number; type: 'tokens'; ids: string[] }
  | { at: number; type: 'user'; user: string }
  /** Several users' grants changed at once (a team's grants or members). */
  | { at: number; type: 'users'; users: string[] }
  /** Repositories came into or left these organizations: whatever was resolved through `@org` is re-read. */
  | { at: number; type: 'organizations'; organizations: string[] }
  | { at: number; type: 'all' };

export interface InvalidationListener {
  /** A published invalidation arrived. */
  onMessage(message: Invalidation): void;
  /** Messages may have been missed (subscriber reconnected): everything cached is suspect. */
  onReset(): void;
}

/** Invalidation pub/sub: how a change made on one replica reaches every replica's cache. */
export interface Invalidations {
  /** Tells every replica (this one included) to drop what the message names. */
  publish(message: Invalidation): Promise<void>;
  subscribe(listener: InvalidationListener): void;
}
