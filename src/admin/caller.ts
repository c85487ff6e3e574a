import { effectiveRights, type Identity } from '../auth/authorize.js';
import { ALL_REPOSITORIES } from '../tokens/record.js';

/** Who is calling the admin API, and where they may act. */
export interface Caller {
  /** Recorded as `createdBy` and as the history actor. */
  actor: string;
  identity: Identity;
  /** Repository the caller administers (`*` for all), or null when it holds no admin right. */
  adminScope: string | null;
}

/** Names an actor: a personal token acts as its user, a repository token as itself. */
export function actorOf(identity: Identity): string {
  const record = identity.record;
  return record.kind === 'personal' && record.user !== null ? record.user : `token:${record.id}`;
}

export function callerOf(identity: Identity): Caller {
  const scope = identity.record.repository;
  const isAdmin = effectiveRights(identity, scope).includes('admin');
  return { actor: actorOf(identity), identity, adminScope: isAdmin ? scope : null };
}

/** True when the caller administers `repository` (a `*` admin administers every one). */
export function administers(caller: Caller, repository: string): boolean {
  return caller.adminScope === ALL_REPOSITORIES || (caller.adminScope !== null && caller.adminScope === repository);
}
