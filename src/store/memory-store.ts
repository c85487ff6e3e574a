import {
  DEFAULT_ORGANIZATION,
  defaultOrganization,
  type HistoryEntry,
  type LastUse,
  type OrganizationRecord,
  organizationOf,
  type RepositoryRecord,
  statusAt,
  type TeamRecord,
  type TokenRecord,
  type TokenSummary,
  type UserRecord,
} from '../tokens/record.js';
import { BudgetCounters } from './budget-counters.js';
import { type Attempt, type EventWithDeliveries, type OutEvent, settled, type Taken } from './event-log.js';
import { type Change, MemoryState } from './memory-state.js';
import type {
  BudgetGrant,
  BudgetKey,
  BudgetTake,
  Invalidation,
  InvalidationListener,
  OrganizationDeleteOutcome,
  TokenCount,
  TokenStore,
  WriteOutcome,
} from './token-store.js';
import type { UsageCount, UsageHour, UsedToken } from './usage-log.js';

/** The events argument as a journal field: absent when there are none, so old lines stay alike. */
const withEvents = (events: readonly OutEvent[] | undefined) => (events && events.length > 0 ? { events: [...events] } : {});

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

  private readonly budgets = new BudgetCounters();

  async takeBudget(key: BudgetKey, take: BudgetTake): Promise<BudgetGrant> {
    return this.budgets.take(key, take);
  }

  async returnBudget(key: BudgetKey, amount: number, now: number): Promise<void> {
    this.budgets.give(key, amount, now);
  }

  async readBudgets(keys: readonly BudgetKey[], now: number): Promise<number[]> {
    return this.budgets.readAll(keys, now);
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

  createToken(record: TokenRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.state.tokens.has(record.id)) return false;
      await this.commit({ op: 'token', record, entry, ...withEvents(events) });
      return true;
    });
  }

  updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const outcome = this.check(record.id, expectedVersion);
      if (outcome === 'written') await this.commit({ op: 'token', record: { ...record, version: expectedVersion + 1 }, entry, ...withEvents(events) });
      return outcome;
    });
  }

  deleteToken(id: string, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const outcome = this.check(id, expectedVersion);
      if (outcome === 'written') await this.commit({ op: 'deleteToken', id, entry, ...withEvents(events) });
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

  putTeam(record: TeamRecord, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<void> {
    return this.exclusive(() => this.commit({ op: 'team', record, entry, ...withEvents(events) }));
  }

  async getTeam(name: string): Promise<TeamRecord | undefined> {
    const record = this.state.teams.get(name);
    return record && copy(record);
  }

  async listTeams(): Promise<TeamRecord[]> {
    return [...this.state.teams.values()].map(copy);
  }

  deleteTeam(name: string, entry: HistoryEntry, events?: readonly OutEvent[]): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.teams.has(name)) return false;
      await this.commit({ op: 'deleteTeam', name, entry, ...withEvents(events) });
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

  createRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.state.repositories.has(record.name) || !this.hasOrganization(organizationOf(record))) return false;
      await this.commit({ op: 'repository', record, ...withEvents(events) });
      return true;
    });
  }

  putRepository(record: RepositoryRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.repositories.has(record.name)) return false;
      await this.commit({ op: 'repository', record, ...withEvents(events) });
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

  deleteRepository(name: string, events?: readonly OutEvent[]): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.repositories.has(name)) return false;
      await this.commit({ op: 'deleteRepository', name, ...withEvents(events) });
      return true;
    });
  }

  // Organizations: `default` is present without being written; a delete checks for repositories
  // in the same exclusive step as the write, so no repository lands in an organization being removed.

  private hasOrganization(name: string): boolean {
    return name === DEFAULT_ORGANIZATION || this.state.organizations.has(name);
  }

  createOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.hasOrganization(record.name)) return false;
      await this.commit({ op: 'organization', record, ...withEvents(events) });
      return true;
    });
  }

  putOrganization(record: OrganizationRecord, events?: readonly OutEvent[]): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.hasOrganization(record.name)) return false;
      await this.commit({ op: 'organization', record, ...withEvents(events) });
      return true;
    });
  }

  async getOrganization(name: string): Promise<OrganizationRecord | undefined> {
    const record = this.state.organizations.get(name);
    if (record) return copy(record);
    return name === DEFAULT_ORGANIZATION ? defaultOrganization() : undefined;
  }

  async listOrganizations(): Promise<OrganizationRecord[]> {
    const all = [...this.state.organizations.values()].map(copy);
    return this.state.organizations.has(DEFAULT_ORGANIZATION) ? all : [defaultOrganization(), ...all];
  }

  deleteOrganization(name: string, events?: readonly OutEvent[]): Promise<OrganizationDeleteOutcome> {
    return this.exclusive(async (): Promise<OrganizationDeleteOutcome> => {
      if (name === DEFAULT_ORGANIZATION) return 'not-empty';
      if (!this.state.organizations.has(name)) return 'missing';
      for (const repository of this.state.repositories.values()) if (organizationOf(repository) === name) return 'not-empty';
      await this.commit({ op: 'deleteOrganization', name, ...withEvents(events) });
      return 'deleted';
    });
  }

  putUser(record: UserRecord, events?: readonly OutEvent[]): Promise<void> {
    return this.exclusive(async () => {
      await this.commit({ op: 'user', record, ...withEvents(events) });
    });
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const record = this.state.users.get(name);
    return record && copy(record);
  }

  async listUsers(): Promise<UserRecord[]> {
    return [...this.state.users.values()].map(copy);
  }

  deleteUser(name: string, events?: readonly OutEvent[]): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.state.users.has(name)) return false;
      await this.commit({ op: 'deleteUser', name, ...withEvents(events) });
      return true;
    });
  }

  // The outbox (docs/webhooks.md): one process holds it, so a lease is a map entry and every step runs
  // in exclusive(), one at a time; each change is journaled by the file store like any other.

  openQueue(webhook: string): Promise<void> {
    return this.exclusive(async () => {
      if (!this.state.outbox.cursors.has(webhook)) await this.commit({ op: 'queue', webhook, cursor: this.state.outbox.lastSeq });
    });
  }

  take(webhook: string, _consumer: string, wants: readonly string[], now: number, leaseMs: number): Promise<Taken> {
    return this.exclusive(async (): Promise<Taken> => {
      const outbox = this.state.outbox;
      const { stored, skippedTo } = outbox.head(webhook, wants);
      if (skippedTo !== undefined) await this.commit({ op: 'queue', webhook, cursor: skippedTo });
      if (!stored) return { kind: 'idle' };
      const decided = outbox.decide(stored, webhook, now);
      if ('kind' in decided) return decided;
      const delivery = { ...decided, state: 'sending' as const, attempts: decided.attempts + 1, lastAttemptAt: now, leaseUntil: now + leaseMs };
      await this.commit({ op: 'delivery', webhook, id: stored.event.id, delivery, done: false });
      return { kind: 'event', event: copy(stored.event), delivery: copy(delivery) };
    });
  }

  settle(webhook: string, event: OutEvent, attempt: Attempt, now: number): Promise<void> {
    return this.exclusive(async () => {
      const before = this.state.outbox.delivery(event.id, webhook);
      // Settled already (a sender whose lease ran out, after another finished): nothing to add.
      if (!before || !this.state.outbox.isHead(webhook, event.id)) return;
      const delivery = settled(before, attempt, now);
      await this.commit({ op: 'delivery', webhook, id: event.id, delivery, done: delivery.state === 'delivered' || delivery.state === 'failed' });
    });
  }

  async backlog(webhook: string, wants: readonly string[]): Promise<number> {
    return this.state.outbox.backlog(webhook, wants);
  }

  async recentEvents(limit: number, webhooks: readonly string[]): Promise<EventWithDeliveries[]> {
    return this.state.outbox.recent(limit, webhooks);
  }

  keepEventsFor(ms: number): void {
    this.state.outbox.retentionMs = ms;
  }

  appendEventOnce(key: string, event: OutEvent, keepUntil: number): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.state.outbox.once.has(key)) return false;
      await this.commit({ op: 'event', event, once: { key, keepUntil } });
      return true;
    });
  }

  async tokensExpiringBetween(from: number, until: number): Promise<string[]> {
    const ids: string[] = [];
    for (const record of this.state.tokens.values()) {
      if (record.status === 'active' && record.expiresAt !== null && record.expiresAt > from && record.expiresAt <= until) ids.push(record.id);
    }
    return ids;
  }

  // Usage history (docs/usage.md): summed per token per hour; the file store journals each batch.

  keepUsageFor(ms: number): void {
    this.state.usage.retentionMs = ms;
  }

  addUsage(counts: readonly UsageCount[], now: number): Promise<void> {
    return this.exclusive(async () => {
      if (counts.length > 0) await this.commit({ op: 'usage', counts: counts.map(copy) });
      this.state.usage.prune(now);
    });
  }

  async usageOf(tokenId: string, from: number, to: number): Promise<UsageHour[]> {
    return this.state.usage.hoursOf(tokenId, from, to);
  }

  async usedTokens(from: number, to: number): Promise<UsedToken[]> {
    return this.state.usage.used(from, to);
  }

  private readonly leases = new Map<string, { holder: string; until: number }>();

  async lease(name: string, holder: string, ms: number, now: number): Promise<boolean> {
    const current = this.leases.get(name);
    if (current && current.holder !== holder && current.until > now) return false;
    this.leases.set(name, { holder, until: now + ms });
    return true;
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
