import type { HistoryEntry, LastUse, OrganizationRecord, RepositoryRecord, TeamRecord, TokenRecord, UserRecord } from '../tokens/record.js';
import type { Attempt, OutEvent } from './event-log.js';
import { MemoryBudgets } from './memory/budgets.js';
import { MemoryDirectory } from './memory/directory.js';
import { MemoryEvents } from './memory/events.js';
import { MemoryInvalidations } from './memory/invalidation.js';
import { MemoryLeases } from './memory/leases.js';
import type { Change, MemoryState } from './memory/state.js';
import { MemoryTokens } from './memory/tokens.js';
import { MemoryUsage } from './memory/usage.js';
import { MemoryWrites } from './memory/writes.js';
import type { BudgetKey, BudgetTake, Invalidation, InvalidationListener, TokenStore } from './token-store.js';
import type { UsageCount } from './usage-log.js';

/**
 * A store that lives and dies with the process. For unit tests of the layers above the store;
 * the file store builds on it by writing each change to its journal first (persist()).
 *
 * Each role lives in a file of its own under memory/ (tokens, directory, invalidation, budgets,
 * leases, events, usage), all over one model changed one step at a time (memory/writes.ts); this
 * class only composes them, method by method. Tests override its methods to fail on demand.
 */
export class MemoryStore implements TokenStore {
  readonly backend: 'memory' | 'file' = 'memory';
  protected readonly state: MemoryState;
  protected closed = false;
  private readonly tokens: MemoryTokens;
  private readonly directory: MemoryDirectory;
  private readonly invalidations = new MemoryInvalidations();
  private readonly budgets = new MemoryBudgets();
  private readonly events: MemoryEvents;
  private readonly usage: MemoryUsage;
  private readonly leases = new MemoryLeases();

  constructor() {
    const writes = new MemoryWrites((change) => this.persist(change));
    this.state = writes.state;
    this.tokens = new MemoryTokens(writes);
    this.directory = new MemoryDirectory(writes);
    this.events = new MemoryEvents(writes);
    this.usage = new MemoryUsage(writes);
  }

  /** Called before a change is applied to memory; the file store makes it durable here. */
  protected async persist(_change: Change): Promise<void> {}

  // Tokens and their history (memory/tokens.ts).

  getToken(id: string) {
    return this.tokens.getToken(id);
  }
  createToken(record: TokenRecord, entry: HistoryEntry, events?: readonly OutEvent[]) {
    return this.tokens.createToken(record, entry, events);
  }
  updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]) {
    return this.tokens.updateToken(record, entry, expectedVersion, events);
  }
  deleteToken(id: string, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]) {
    return this.tokens.deleteToken(id, entry, expectedVersion, events);
  }
  listTokens() {
    return this.tokens.listTokens();
  }
  getTokens(ids: readonly string[]) {
    return this.tokens.getTokens(ids);
  }
  countTokens(now: number) {
    return this.tokens.countTokens(now);
  }
  history(id: string) {
    return this.tokens.history(id);
  }
  touchLastUsed(uses: ReadonlyMap<string, LastUse>) {
    return this.tokens.touchLastUsed(uses);
  }
  countExpiring(now: number, until: number) {
    return this.tokens.countExpiring(now, until);
  }
  tokensExpiringBetween(from: number, until: number) {
    return this.tokens.tokensExpiringBetween(from, until);
  }

  // The directory (memory/directory.ts).

  createRepository(record: RepositoryRecord, events?: readonly OutEvent[]) {
    return this.directory.createRepository(record, events);
  }
  putRepository(record: RepositoryRecord, events?: readonly OutEvent[]) {
    return this.directory.putRepository(record, events);
  }
  getRepository(name: string) {
    return this.directory.getRepository(name);
  }
  listRepositories() {
    return this.directory.listRepositories();
  }
  deleteRepository(name: string, events?: readonly OutEvent[]) {
    return this.directory.deleteRepository(name, events);
  }
  putUser(record: UserRecord, events?: readonly OutEvent[]) {
    return this.directory.putUser(record, events);
  }
  getUser(name: string) {
    return this.directory.getUser(name);
  }
  listUsers() {
    return this.directory.listUsers();
  }
  deleteUser(name: string, events?: readonly OutEvent[]) {
    return this.directory.deleteUser(name, events);
  }
  putTeam(record: TeamRecord, entry: HistoryEntry, events?: readonly OutEvent[]) {
    return this.directory.putTeam(record, entry, events);
  }
  getTeam(name: string) {
    return this.directory.getTeam(name);
  }
  listTeams() {
    return this.directory.listTeams();
  }
  deleteTeam(name: string, entry: HistoryEntry, events?: readonly OutEvent[]) {
    return this.directory.deleteTeam(name, entry, events);
  }
  teamHistory(name: string) {
    return this.directory.teamHistory(name);
  }
  teamsOf(user: string) {
    return this.directory.teamsOf(user);
  }
  createOrganization(record: OrganizationRecord, events?: readonly OutEvent[]) {
    return this.directory.createOrganization(record, events);
  }
  putOrganization(record: OrganizationRecord, events?: readonly OutEvent[]) {
    return this.directory.putOrganization(record, events);
  }
  getOrganization(name: string) {
    return this.directory.getOrganization(name);
  }
  listOrganizations() {
    return this.directory.listOrganizations();
  }
  deleteOrganization(name: string, events?: readonly OutEvent[]) {
    return this.directory.deleteOrganization(name, events);
  }

  // Invalidation (memory/invalidation.ts).

  publish(message: Invalidation) {
    return this.invalidations.publish(message);
  }
  subscribe(listener: InvalidationListener) {
    this.invalidations.subscribe(listener);
  }

  // Budget counters (memory/budgets.ts).

  takeBudget(key: BudgetKey, take: BudgetTake) {
    return this.budgets.takeBudget(key, take);
  }
  returnBudget(key: BudgetKey, amount: number, now: number) {
    return this.budgets.returnBudget(key, amount, now);
  }
  readBudgets(keys: readonly BudgetKey[], now: number) {
    return this.budgets.readBudgets(keys, now);
  }

  // The event log and webhook queues (memory/events.ts).

  keepEventsFor(ms: number) {
    this.events.keepEventsFor(ms);
  }
  openQueue(webhook: string) {
    return this.events.openQueue(webhook);
  }
  take(webhook: string, consumer: string, wants: readonly string[], now: number, leaseMs: number) {
    return this.events.take(webhook, consumer, wants, now, leaseMs);
  }
  settle(webhook: string, event: OutEvent, attempt: Attempt, now: number) {
    return this.events.settle(webhook, event, attempt, now);
  }
  backlog(webhook: string, wants: readonly string[]) {
    return this.events.backlog(webhook, wants);
  }
  recentEvents(limit: number, webhooks: readonly string[]) {
    return this.events.recentEvents(limit, webhooks);
  }
  appendEventOnce(key: string, event: OutEvent, keepUntil: number) {
    return this.events.appendEventOnce(key, event, keepUntil);
  }

  // Usage history (memory/usage.ts).

  keepUsageFor(ms: number) {
    this.usage.keepUsageFor(ms);
  }
  addUsage(counts: readonly UsageCount[], now: number) {
    return this.usage.addUsage(counts, now);
  }
  usageOf(tokenId: string, from: number, to: number) {
    return this.usage.usageOf(tokenId, from, to);
  }
  usedTokens(from: number, to: number) {
    return this.usage.usedTokens(from, to);
  }

  // Leases (memory/leases.ts).

  lease(name: string, holder: string, ms: number, now: number) {
    return this.leases.lease(name, holder, ms, now);
  }

  // Health: nothing outside this process to wait for.

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}
