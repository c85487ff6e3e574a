import { effectiveRights, type Identity } from '../auth/authorize.js';
import { ALL_REPOSITORIES } from '../tokens/record.js';

/**
 * The four kinds of caller the admin policy (policy.ts) knows:
 * - `star`: holds `admin` on `*` (a repository token for `*`, or a personal token whose user has `admin` on `*`);
 * - `scoped`: holds `admin` in its rights but not on `*`: administers the repositories where its
 *   effective rights include `admin`;
 * - `personal`: a personal token without `admin`: self-service on its own user's personal tokens;
 * - `none`: a repository token without `admin`: no admin API at all.
 */
export type Role = 'star' | 'scoped' | 'personal' | 'none';

/** Who is calling the admin API. */
export interface Caller {
  /** Recorded as `createdBy` and as the history actor. */
  actor: string;
  identity: Identity;
  role: Role;
}

/** Names an actor: a personal token acts as its user, a repository token as itself. */
export function actorOf(identity: Identity): string {
  const record = identity.record;
  return record.kind === 'personal' && record.user !== null ? record.user : `token:${record.id}`;
}

export function callerOf(identity: Identity): Caller {
  return { actor: actorOf(identity), identity, role: roleOf(identity) };
}

function roleOf(identity: Identity): Role {
  if (effectiveRights(identity, ALL_REPOSITORIES).includes('admin')) return 'star';
  if (identity.record.rights.includes('admin')) return 'scoped';
  return identity.record.kind === 'personal' ? 'personal' : 'none';
}

/** True when the caller administers `repository` (`*`: every repository): its effective rights there include `admin`. */
export function administers(caller: Caller, repository: string): boolean {
  if (caller.role === 'star') return true;
  return caller.role === 'scoped' && effectiveRights(caller.identity, repository).includes('admin');
}
