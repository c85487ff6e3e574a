import type { Clock } from '../clock.js';
import type { OutEvent } from '../store/event-log.js';
import type { Directory, TokenRecords } from '../store/token-store.js';
import type { EventType } from '../tokens/event-types.js';
import type { HistoryEntry, OrganizationRecord, RepositoryRecord, TeamRecord, TokenRecord, UserRecord } from '../tokens/record.js';
import { viewOfOrganization, viewOfRepository, viewOfTeam, viewOfToken, viewOfUser } from '../tokens/views.js';
import { eventId } from './signing.js';

/** A token history action -> its event type (docs/webhooks.md). */
const TOKEN_EVENTS = new Map<string, EventType>([
  ['created', 'token.created'],
  // The new token of a roll is created with a `rolled` entry; its old one gets token.rolled.
  ['edited', 'token.edited'],
  ['revoked', 'token.revoked'],
  ['restored', 'token.restored'],
  ['rolled', 'token.rolled'],
  ['leaked', 'token.leaked'],
  ['deleted', 'token.deleted'],
]);

export const makeEvent = (type: EventType, at: number, data: unknown, actor?: string): OutEvent => ({
  id: eventId(),
  type,
  at,
  data,
  ...(actor === undefined ? {} : { actor }),
});

/**
 * The store as the admin services see it: every write carries the events it makes (docs/webhooks.md),
 * so the store keeps them in the same step as the change. The services call the store as
 * before; the event is read off the write itself (a token's history action, a team's entry,
 * whether a user existed), and its data is the API's JSON view, which never holds a secret.
 * Reads pass straight through. It takes any store with the tokens and directory roles (whose
 * writes are the ones that make events) and hands back the same roles.
 */
export function emittingStore<S extends TokenRecords & Directory>(store: S, clock: Clock, onWritten: () => void = () => {}): S {
  const writes: Partial<TokenRecords & Directory> = {
    createToken(record: TokenRecord, entry: HistoryEntry) {
      return store.createToken(record, entry, [makeEvent('token.created', entry.at, viewOfToken(record, entry.at), entry.actor)]);
    },
    updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number) {
      const type = TOKEN_EVENTS.get(entry.action) ?? 'token.edited';
      const view = viewOfToken({ ...record, version: expectedVersion + 1 }, entry.at);
      return store.updateToken(record, entry, expectedVersion, [makeEvent(type, entry.at, view, entry.actor)]);
    },
    async deleteToken(id: string, entry: HistoryEntry, expectedVersion: number) {
      // The record at the version the delete is decided on is the one deleted, or nothing is.
      const before = await store.getToken(id);
      const data = before && before.version === expectedVersion ? viewOfToken(before, entry.at) : { id };
      return store.deleteToken(id, entry, expectedVersion, [makeEvent('token.deleted', entry.at, data, entry.actor)]);
    },
    async putUser(record: UserRecord) {
      const existed = (await store.getUser(record.name)) !== undefined;
      const view = viewOfUser(record, await store.teamsOf(record.name));
      return store.putUser(record, [makeEvent(existed ? 'user.edited' : 'user.created', clock.now(), view)]);
    },
    async deleteUser(name: string) {
      const before = await store.getUser(name);
      const data = before ? viewOfUser(before, []) : { name };
      return store.deleteUser(name, [makeEvent('user.deleted', clock.now(), data)]);
    },
    putTeam(record: TeamRecord, entry: HistoryEntry) {
      return store.putTeam(record, entry, [makeEvent(entry.action === 'created' ? 'team.created' : 'team.edited', entry.at, viewOfTeam(record), entry.actor)]);
    },
    async deleteTeam(name: string, entry: HistoryEntry) {
      const before = await store.getTeam(name);
      const data = before ? viewOfTeam(before) : { name };
      return store.deleteTeam(name, entry, [makeEvent('team.deleted', entry.at, data, entry.actor)]);
    },
    createRepository(record: RepositoryRecord) {
      return store.createRepository(record, [makeEvent('repository.created', record.createdAt, viewOfRepository(record), record.createdBy)]);
    },
    async deleteRepository(name: string) {
      const before = await store.getRepository(name);
      const data = before ? viewOfRepository(before) : { name };
      return store.deleteRepository(name, [makeEvent('repository.deleted', clock.now(), data)]);
    },
    createOrganization(record: OrganizationRecord) {
      return store.createOrganization(record, [makeEvent('organization.created', record.createdAt, viewOfOrganization(record), record.createdBy)]);
    },
    putOrganization(record: OrganizationRecord) {
      return store.putOrganization(record, [makeEvent('organization.edited', record.updatedAt, viewOfOrganization(record))]);
    },
    async deleteOrganization(name: string) {
      const before = await store.getOrganization(name);
      const data = before ? viewOfOrganization(before) : { name };
      return store.deleteOrganization(name, [makeEvent('organization.deleted', clock.now(), data)]);
    },
  };
  return new Proxy(store, {
    get(target, prop) {
      if (typeof prop === 'string' && Object.hasOwn(writes, prop)) {
        const write = writes[prop as keyof (TokenRecords & Directory)] as (...args: unknown[]) => Promise<unknown>;
        return async (...args: unknown[]) => {
          const result = await write(...args);
          onWritten(); // the senders here look at once, not at their next poll
          return result;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
