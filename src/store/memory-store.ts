import { statusAt, type HistoryEntry, type RepositoryRecord, type TokenRecord, type UserRecord } from '../tokens/record.js';
import type { Invalidation, InvalidationListener, TokenCount, TokenStore } from './token-store.js';
import { MemoryState, type Change } from './memory-state.js';

const copy = <T>(value: T): T => structuredClone(value);

/**
 * A store that lives and dies with the process. For unit tests of the layers above the store;
 * the file store builds on it by writing each change to its journal first.
 */
export class MemoryStore implements TokenStore {
  readonly backend: 'memory' | 'file' = 'memory';
  protected readonly state = new MemoryState();
  private readonly listeners: InvalidationListener[] = [];
  protected closed = false;

  /** Called before a change is applied to memory; the file store makes it durable here. */
  protected async persist(_change: Change): Promise<void> {}

  private async commit(change: Change): Promise<void> {
    await this.persist(change);
    this.state.apply(change);
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs check-then-write steps one at a time, so two racing creates cannot both win. */
  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const record = this.state.tokens.get(id);
    return record && copy(record);
  }

  createToken(record: TokenRecord, entry: HistoryEntry): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.state.tokens.has(record.id)) return false;
      await this.commit({ op: 'token', record, entry });
      return true;
    });
  }

  updateToken(record: TokenRecord, entry: HistoryEntry): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.tokens.has(record.id)) return false;
      await this.commit({ op: 'token', record, entry });
      return true;
    });
  }

  deleteToken(id: string, entry: HistoryEntry): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.tokens.has(id)) return false;
      await this.commit({ op: 'deleteToken', id, entry });
      return true;
    });
  }

  async listTokens(): Promise<Iterable<Readonly<TokenRecord>>> {
    return this.state.tokens.values();
  }

  async countTokens(now: number): Promise<TokenCount[]> {
    const counts = new Map<string, TokenCount>();
    for (const kind of ['repository', 'personal'] as const) {
      for (const status of ['active', 'expired', 'revoked'] as const) counts.set(`${kind}:${status}`, { kind, status, count: 0 });
    }
    for (const record of this.state.tokens.values()) counts.get(`${record.kind}:${statusAt(record, now)}`)!.count++;
    return [...counts.values()];
  }

  async history(id: string): Promise<HistoryEntry[]> {
    return copy(this.state.histories.get(id) ?? []);
  }

  touchLastUsed(uses: ReadonlyMap<string, number>): Promise<void> {
    return this.exclusive(async () => {
      const live = [...uses].filter(([id]) => this.state.tokens.has(id));
      if (live.length === 0) return;
      await this.commit({ op: 'lastUsed', uses: live });
    });
  }

  createRepository(record: RepositoryRecord): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.state.repositories.has(record.name)) return false;
      await this.commit({ op: 'repository', record });
      return true;
    });
  }

  async getRepository(name: string): Promise<RepositoryRecord | undefined> {
    const record = this.state.repositories.get(name);
    return record && copy(record);
  }

  async listRepositories(): Promise<RepositoryRecord[]> {
    return [...this.state.repositories.values()].map(copy);
  }

  deleteRepository(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.repositories.has(name)) return false;
      await this.commit({ op: 'deleteRepository', name });
      return true;
    });
  }

  putUser(record: UserRecord): Promise<void> {
    return this.exclusive(async () => {
      await this.commit({ op: 'user', record });
    });
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const record = this.state.users.get(name);
    return record && copy(record);
  }

  async listUsers(): Promise<UserRecord[]> {
    return [...this.state.users.values()].map(copy);
  }

  deleteUser(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.users.has(name)) return false;
      await this.commit({ op: 'deleteUser', name });
      return true;
    });
  }

  async publish(message: Invalidation): Promise<void> {
    // One process: every "replica" is this one, so delivery is a direct call.
    for (const listener of this.listeners) listener.onMessage(copy(message));
  }

  subscribe(listener: InvalidationListener): void {
    this.listeners.push(listener);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}
