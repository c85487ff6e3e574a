import type { TokenKind } from './secret.js';

export const RIGHTS = ['stream', 'query', 'modify', 'delete', 'admin'] as const;
export type Right = (typeof RIGHTS)[number];

/** Names of repositories and users (SPEC §1). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Repository scope of a token: one repository, or `*` for all. */
export const ALL_REPOSITORIES = '*';

export type StoredStatus = 'active' | 'revoked';
export type TokenStatus = StoredStatus | 'expired';

/** A token as the store keeps it. Times are epoch milliseconds; the secret itself is never here. */
export interface TokenRecord {
  id: string;
  hash: string;
  kind: TokenKind;
  name: string;
  repository: string;
  user: string | null;
  rights: Right[];
  status: StoredStatus;
  prefix: string;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** The token as the API shows it (SPEC §5 "Token JSON"). */
export interface TokenView {
  id: string;
  kind: TokenKind;
  name: string;
  repository: string;
  user: string | null;
  rights: Right[];
  status: TokenStatus;
  prefix: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface HistoryEntry {
  at: number;
  actor: string;
  action: 'created' | 'edited' | 'revoked' | 'restored' | 'deleted';
  changes: Record<string, { from: unknown; to: unknown }>;
}

export interface RepositoryRecord {
  name: string;
  createdAt: number;
  createdBy: string;
}

/** repository name (or `*`) -> rights held there. */
export type Grants = Record<string, Right[]>;

export interface UserRecord {
  name: string;
  grants: Grants;
  createdAt: number;
  updatedAt: number;
}

/** True once the expiry has passed; a token without expiry never expires. */
export function isExpired(record: Pick<TokenRecord, 'expiresAt'>, now: number): boolean {
  return record.expiresAt !== null && record.expiresAt <= now;
}

/** The status shown to people: `expired` is derived from the clock, never stored. */
export function statusAt(record: TokenRecord, now: number): TokenStatus {
  if (record.status === 'revoked') return 'revoked';
  return isExpired(record, now) ? 'expired' : 'active';
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The public view of a record: ISO times, derived status, and no hash. */
export function toView(record: TokenRecord, now: number): TokenView {
  return {
    id: record.id,
    kind: record.kind,
    name: record.name,
    repository: record.repository,
    user: record.user,
    rights: record.rights,
    status: statusAt(record, now),
    prefix: record.prefix,
    createdAt: iso(record.createdAt)!,
    createdBy: record.createdBy,
    updatedAt: iso(record.updatedAt)!,
    expiresAt: iso(record.expiresAt),
    revokedAt: iso(record.revokedAt),
    lastUsedAt: iso(record.lastUsedAt),
  };
}
