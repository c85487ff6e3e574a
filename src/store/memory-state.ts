import type { HistoryEntry, RepositoryRecord, TokenRecord, UserRecord } from '../tokens/record.js';

/** One change to the model: what the memory store applies and the file store journals. */
export type Change =
  | { op: 'token'; record: TokenRecord; entry: HistoryEntry }
  | { op: 'deleteToken'; id: string; entry: HistoryEntry }
  | { op: 'lastUsed'; uses: [string, number][] }
  | { op: 'repository'; record: RepositoryRecord }
  | { op: 'deleteRepository'; name: string }
  | { op: 'user'; record: UserRecord }
  | { op: 'deleteUser'; name: string }
  // The two below appear only in a compacted journal: state without the history that led to it.
  | { op: 'tokenState'; record: TokenRecord }
  | { op: 'history'; id: string; entries: HistoryEntry[] };

/**
 * The plain in-memory model shared by the memory store and the file store (which replays its
 * journal into one).
 */
export class MemoryState {
  readonly tokens = new Map<string, TokenRecord>();
  readonly histories = new Map<string, HistoryEntry[]>();
  readonly repositories = new Map<string, RepositoryRecord>();
  readonly users = new Map<string, UserRecord>();

  /** Applies a change; values are copied so no caller can mutate stored state afterwards. */
  apply(change: Change): void {
    switch (change.op) {
      case 'token':
        this.tokens.set(change.record.id, structuredClone(change.record));
        this.appendHistory(change.record.id, change.entry);
        break;
      case 'deleteToken':
        this.tokens.delete(change.id);
        this.appendHistory(change.id, change.entry);
        break;
      case 'lastUsed':
        for (const [id, at] of change.uses) {
          const record = this.tokens.get(id);
          if (record && (record.lastUsedAt === null || record.lastUsedAt < at)) record.lastUsedAt = at;
        }
        break;
      case 'repository':
        this.repositories.set(change.record.name, structuredClone(change.record));
        break;
      case 'deleteRepository':
        this.repositories.delete(change.name);
        break;
      case 'user':
        this.users.set(change.record.name, structuredClone(change.record));
        break;
      case 'deleteUser':
        this.users.delete(change.name);
        break;
      case 'tokenState':
        this.tokens.set(change.record.id, structuredClone(change.record));
        break;
      case 'history':
        this.histories.set(change.id, structuredClone(change.entries));
        break;
    }
  }

  /** The changes that rebuild this state from nothing: what a compacted journal holds. */
  *snapshot(): Generator<Change> {
    for (const record of this.repositories.values()) yield { op: 'repository', record };
    for (const record of this.users.values()) yield { op: 'user', record };
    for (const [id, entries] of this.histories) yield { op: 'history', id, entries };
    for (const record of this.tokens.values()) yield { op: 'tokenState', record };
  }

  private appendHistory(id: string, entry: HistoryEntry): void {
    const list = this.histories.get(id);
    if (list) list.push(structuredClone(entry));
    else this.histories.set(id, [structuredClone(entry)]);
  }
}
