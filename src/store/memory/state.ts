import type { HistoryEntry, LastUse, OrganizationRecord, RepositoryRecord, TeamRecord, TokenRecord, UserRecord } from '../../tokens/record.js';
import type { OutEvent } from '../event-log.js';
import type { UsageCount } from '../usage-log.js';
import { type EventChange, EventState } from './event-state.js';
import { UsageState } from './usage-state.js';

/** One change to the model: what the memory store applies and the file store journals. */
export type Change =
  | ((
      | { op: 'token'; record: TokenRecord; entry: HistoryEntry }
      | { op: 'deleteToken'; id: string; entry: HistoryEntry }
      // Older journals hold a bare time where a LastUse now stands.
      | { op: 'lastUsed'; uses: [string, LastUse | number][] }
      // No entry in a compacted journal, where the team's history was written before it.
      | { op: 'team'; record: TeamRecord; entry?: HistoryEntry }
      | { op: 'deleteTeam'; name: string; entry: HistoryEntry }
      | { op: 'teamHistory'; name: string; entries: HistoryEntry[] }
      | { op: 'repository'; record: RepositoryRecord }
      | { op: 'deleteRepository'; name: string }
      | { op: 'organization'; record: OrganizationRecord }
      | { op: 'deleteOrganization'; name: string }
      | { op: 'user'; record: UserRecord }
      | { op: 'deleteUser'; name: string }
      // The two below appear only in a compacted journal: state without the history that led to it.
      | { op: 'tokenState'; record: TokenRecord }
      | { op: 'history'; id: string; entries: HistoryEntry[] }
      // A batch of usage counts (docs/usage.md); a compacted journal holds what is kept as one.
      | { op: 'usage'; counts: UsageCount[] }
    ) & {
      /** The events this change makes (docs/webhooks.md): kept with it, in the same journal line. */
      events?: OutEvent[];
    })
  | EventChange;

/** A copy of a record, with the fields older journals did not write filled in. */
function normalized(record: TokenRecord): TokenRecord {
  const copy = structuredClone(record);
  copy.version ??= 0;
  copy.parentId ??= null;
  copy.lastUsedIp ??= null;
  copy.lastUsedUserAgent ??= null;
  return copy;
}

/**
 * The plain in-memory model shared by the memory store and the file store (which replays its
 * journal into one).
 */
export class MemoryState {
  readonly tokens = new Map<string, TokenRecord>();
  readonly histories = new Map<string, HistoryEntry[]>();
  readonly repositories = new Map<string, RepositoryRecord>();
  /** Organizations written so far; `default` is here only once edited (the store reads it as present regardless). */
  readonly organizations = new Map<string, OrganizationRecord>();
  readonly users = new Map<string, UserRecord>();
  readonly teams = new Map<string, TeamRecord>();
  readonly teamHistories = new Map<string, HistoryEntry[]>();
  readonly outbox = new EventState();
  readonly usage = new UsageState();

  /** Applies a change; values are copied so no caller can mutate stored state afterwards. */
  apply(change: Change): void {
    if (change.op === 'event' || change.op === 'once' || change.op === 'queue' || change.op === 'delivery') {
      this.outbox.apply(change);
      return;
    }
    if (change.events) this.outbox.append(change.events);
    switch (change.op) {
      case 'token': {
        const before = this.tokens.get(change.record.id);
        const record = normalized(change.record);
        // lastUsedAt is written apart, in batches: a change decided on an older read keeps the newer use.
        if (before?.lastUsedAt != null && (record.lastUsedAt === null || record.lastUsedAt < before.lastUsedAt)) {
          record.lastUsedAt = before.lastUsedAt;
          record.lastUsedIp = before.lastUsedIp;
          record.lastUsedUserAgent = before.lastUsedUserAgent;
        }
        this.tokens.set(record.id, record);
        this.appendHistory(change.record.id, change.entry);
        break;
      }
      case 'deleteToken':
        this.tokens.delete(change.id);
        this.appendHistory(change.id, change.entry);
        break;
      case 'lastUsed':
        for (const [id, use] of change.uses) {
          const { at, ip, userAgent } = typeof use === 'number' ? { at: use, ip: null, userAgent: null } : use;
          const record = this.tokens.get(id);
          if (record && (record.lastUsedAt === null || record.lastUsedAt < at)) {
            record.lastUsedAt = at;
            record.lastUsedIp = ip;
            record.lastUsedUserAgent = userAgent;
          }
        }
        break;
      case 'team':
        this.teams.set(change.record.name, structuredClone(change.record));
        this.appendTo(this.teamHistories, change.record.name, change.entry);
        break;
      case 'deleteTeam':
        this.teams.delete(change.name);
        this.appendTo(this.teamHistories, change.name, change.entry);
        break;
      case 'teamHistory':
        this.teamHistories.set(change.name, structuredClone(change.entries));
        break;
      case 'repository':
        this.repositories.set(change.record.name, structuredClone(change.record));
        break;
      case 'deleteRepository':
        this.repositories.delete(change.name);
        break;
      case 'organization':
        this.organizations.set(change.record.name, structuredClone(change.record));
        break;
      case 'deleteOrganization':
        this.organizations.delete(change.name);
        break;
      case 'user':
        this.users.set(change.record.name, structuredClone(change.record));
        break;
      case 'deleteUser':
        this.users.delete(change.name);
        break;
      case 'tokenState':
        this.tokens.set(change.record.id, normalized(change.record));
        break;
      case 'history':
        this.histories.set(change.id, structuredClone(change.entries));
        break;
      case 'usage':
        this.usage.add(change.counts);
        break;
    }
  }

  /** The changes that rebuild this state from nothing: what a compacted journal holds. */
  *snapshot(): Generator<Change> {
    for (const record of this.organizations.values()) yield { op: 'organization', record };
    for (const record of this.repositories.values()) yield { op: 'repository', record };
    for (const record of this.users.values()) yield { op: 'user', record };
    for (const [name, entries] of this.teamHistories) yield { op: 'teamHistory', name, entries };
    for (const record of this.teams.values()) yield { op: 'team', record };
    for (const [id, entries] of this.histories) yield { op: 'history', id, entries };
    for (const record of this.tokens.values()) yield { op: 'tokenState', record };
    yield* this.outbox.snapshot();
    const usage = this.usage.snapshot();
    if (usage.length > 0) yield { op: 'usage', counts: usage };
  }

  private appendHistory(id: string, entry: HistoryEntry): void {
    this.appendTo(this.histories, id, entry);
  }

  private appendTo(histories: Map<string, HistoryEntry[]>, key: string, entry: HistoryEntry | undefined): void {
    if (entry === undefined) return;
    const list = histories.get(key);
    if (list) list.push(structuredClone(entry));
    else histories.set(key, [structuredClone(entry)]);
  }
}
