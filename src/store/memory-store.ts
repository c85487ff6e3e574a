import { statusAt, type HistoryEntry, type LastUse, type RepositoryRecord, type TeamRecord, type TokenRecord, type TokenSummary, type UserRecord } from '../tokens/record.js';
import type { Invalidation, InvalidationListener, TokenCount, TokenStore, WriteOutcome } from './token-store.js';
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

  async getTokens(ids: readonly string[]): Promise<Array<TokenRecord | undefined>> {
    return ids.map((id) => {
      const record = this.state.tokens.get(id);
      return record && copy(record);
    });
  }

  createToken(record: TokenRecord, entry: HistoryEntry): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.state.tokens.has(record.id)) return false;
      await this.commit({ op: 'token', record, entry });
      return true;
    });
  }

  updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const outcome = this.check(record.id, expectedVersion);
      if (outcome === 'written') await this.commit({ op: 'token', record: { ...record, version: expectedVersion + 1 }, entry });
      return outcome;
    });
  }

  deleteToken(id: string, entry: HistoryEntry, expectedVersion: number): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const outcome = this.check(id, expectedVersion);
      if (outcome === 'written') await this.commit({ op: 'deleteToken', id, entry });
      return outcome;
    });
  }

  /** The compare of compare-and-set; runs inside exclusive(), so nothing changes before the write. */
  private check(id: string, expectedVersion: number): WriteOutcome {
    const current = this.state.tokens.get(id);
    if (!current) return 'missing';
    return current.version === expectedVersion ? 'written' : 'stale';
  }

  async listTokens(): Promise<Iterable<Readonly<TokenSummary>>> {
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

  async countExpiring(now: number, until: number): Promise<Record<'repository' | 'personal', number>> {
    const counts = { repository: 0, personal: 0 };
    for (const record of this.state.tokens.values()) {
      if (record.status === 'active' && record.expiresAt !== null && record.expiresAt > now && record.expiresAt <= until) counts[record.kind]++;
    }
    return counts;
  }

  putTeam(record: TeamRecord, entry: HistoryEntry): Promise<void> {
    return this.exclusive(() => this.commit({ op: 'team', record, entry }));
  }

  async getTeam(name: string): Promise<TeamRecord | undefined> {
    const record = this.state.teams.get(name);
    return record && copy(record);
  }

  async listTeams(): Promise<TeamRecord[]> {
    return [...this.state.teams.values()].map(copy);
  }

  deleteTeam(name: string, entry: HistoryEntry): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.teams.has(name)) return false;
      await this.commit({ op: 'deleteTeam', name, entry });
      return true;
    });
  }

  async teamHistory(name: string): Promise<HistoryEntry[]> {
    return copy(this.state.teamHistories.get(name) ?? []);
  }

  async teamsOf(user: string): Promise<TeamRecord[]> {
    return [...this.state.teams.values()].filter((team) => team.members.includes(user)).map(copy);
  }

  touchLastUsed(uses: ReadonlyMap<string, LastUse>): Promise<void> {
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
