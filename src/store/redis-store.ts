import type { HistoryEntry, LastUse, OrganizationRecord, RepositoryRecord, TeamRecord, TokenRecord, UserRecord } from '../tokens/record.js';
import type { Attempt, OutEvent } from './event-log.js';
import { RedisBudgets } from './redis/budgets.js';
import { RedisCommands, type RedisStoreOptions } from './redis/commands.js';
import { RedisDirectory } from './redis/directory.js';
import { RedisEvents } from './redis/events.js';
import { RedisHealth } from './redis/health.js';
import { RedisInvalidations } from './redis/invalidation.js';
import { RedisLeases } from './redis/leases.js';
import { RedisTokens } from './redis/tokens.js';
import { RedisUsage } from './redis/usage.js';
import type { BudgetKey, BudgetTake, Invalidation, InvalidationListener, StoreHealthListener, TokenStore } from './token-store.js';
import type { UsageCount } from './usage-log.js';

export type { RedisStoreOptions } from './redis/commands.js';

/**
 * The production store. Each role lives in a file of its own under redis/ (tokens, directory,
 * invalidation, budgets, leases, health, events, usage), all on one commands connection
 * (redis/commands.ts) and, once something subscribes, one subscriber connection; this class only
 * composes them, method by method, so a reader sees which file answers what.
 */
export class RedisStore implements TokenStore {
  readonly backend = 'redis' as const;
  private readonly redis: RedisCommands;
  private readonly tokens: RedisTokens;
  private readonly directory: RedisDirectory;
  private readonly invalidations: RedisInvalidations;
  private readonly budgets: RedisBudgets;
  private readonly events: RedisEvents;
  private readonly usage: RedisUsage;
  private readonly leases: RedisLeases;
  private readonly health: RedisHealth;

  constructor(options: RedisStoreOptions) {
    this.redis = new RedisCommands(options);
    this.tokens = new RedisTokens(this.redis);
    this.directory = new RedisDirectory(this.redis);
    this.invalidations = new RedisInvalidations(this.redis);
    this.budgets = new RedisBudgets(this.redis);
    this.events = new RedisEvents(this.redis);
    this.usage = new RedisUsage(this.redis);
    this.leases = new RedisLeases(this.redis);
    this.health = new RedisHealth(this.redis);
  }

  // Tokens and their history (redis/tokens.ts).

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
  /** Recounts the counters and expiry sets from the tokens (Cluster; `tollgate reconcile`): RedisTokens.reconcile. */
  reconcile() {
    return this.tokens.reconcile();
  }

  // The directory (redis/directory.ts).

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

  // Invalidation pub/sub (redis/invalidation.ts).

  publish(message: Invalidation) {
    return this.invalidations.publish(message);
  }
  subscribe(listener: InvalidationListener) {
    this.invalidations.subscribe(listener);
  }

  // Budget counters (redis/budgets.ts).

  takeBudget(key: BudgetKey, take: BudgetTake) {
    return this.budgets.takeBudget(key, take);
  }
  returnBudget(key: BudgetKey, amount: number, now: number) {
    return this.budgets.returnBudget(key, amount, now);
  }
  readBudgets(keys: readonly BudgetKey[], now: number) {
    return this.budgets.readBudgets(keys, now);
  }

  // The event log and webhook queues (redis/events.ts).

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
  backlog(webhook: string) {
    return this.events.backlog(webhook);
  }
  recentEvents(limit: number, webhooks: readonly string[]) {
    return this.events.recentEvents(limit, webhooks);
  }
  appendEventOnce(key: string, event: OutEvent, keepUntil: number) {
    return this.events.appendEventOnce(key, event, keepUntil);
  }

  // Usage history (redis/usage.ts).

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

  // Leases and name claims (redis/leases.ts).

  lease(name: string, holder: string, ms: number, now: number) {
    return this.leases.lease(name, holder, ms, now);
  }
  claimName(scope: string, name: string, ttlMs: number) {
    return this.leases.claimName(scope, name, ttlMs);
  }
  releaseName(scope: string, name: string) {
    return this.leases.releaseName(scope, name);
  }

  // Health (redis/health.ts).

  ping() {
    return this.health.ping();
  }
  watchHealth(listener: StoreHealthListener) {
    this.health.watchHealth(listener);
  }
  /** Resolves once the first connection is up, or after `withinMs` (the store may come later). */
  waitUntilReady(withinMs: number) {
    return this.health.waitUntilReady(withinMs);
  }

  async close(): Promise<void> {
    this.invalidations.stopWatch();
    this.redis.disconnect();
    this.invalidations.close();
  }
}
