import { type HistoryEntry, type LastUse, statusAt, type TokenRecord, type TokenSummary } from '../../tokens/record.js';
import type { OutEvent } from '../event-log.js';
import type { TokenCount, TokenRecords, WriteOutcome } from '../token-store.js';
import type { MemoryState } from './state.js';
import { copy, type MemoryWrites, withEvents } from './writes.js';

/** Tokens and their history in this process: maps in the shared model, changed one step at a time. */
export class MemoryTokens implements TokenRecords {
  private readonly state: MemoryState;

  constructor(private readonly writes: MemoryWrites) {
    this.state = writes.state;
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
    return this.writes.exclusive(async () => {
      if (this.state.tokens.has(record.id)) return false;
      await this.writes.commit({ op: 'token', record, entry, ...withEvents(events) });
      return true;
    });
  }

  updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome> {
    return this.writes.exclusive(async () => {
      const outcome = this.check(record.id, expectedVersion);
      if (outcome === 'written') await this.writes.commit({ op: 'token', record: { ...record, version: expectedVersion + 1 }, entry, ...withEvents(events) });
      return outcome;
    });
  }

  deleteToken(id: string, entry: HistoryEntry, expectedVersion: number, events?: readonly OutEvent[]): Promise<WriteOutcome> {
    return this.writes.exclusive(async () => {
      const outcome = this.check(id, expectedVersion);
      if (outcome === 'written') await this.writes.commit({ op: 'deleteToken', id, entry, ...withEvents(events) });
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

  touchLastUsed(uses: ReadonlyMap<string, LastUse>): Promise<void> {
    return this.writes.exclusive(async () => {
      const live = [...uses].filter(([id]) => this.state.tokens.has(id));
      if (live.length === 0) return;
      await this.writes.commit({ op: 'lastUsed', uses: live });
    });
  }

  async tokensExpiringBetween(from: number, until: number): Promise<string[]> {
    const ids: string[] = [];
    for (const record of this.state.tokens.values()) {
      if (record.status === 'active' && record.expiresAt !== null && record.expiresAt > from && record.expiresAt <= until) ids.push(record.id);
    }
    return ids;
  }
}
