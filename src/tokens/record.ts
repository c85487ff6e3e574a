import type { TokenKind } from './secret.js';

/**
 * Limits as written on a token or a repository and shown by the API: `per` is a duration
 * (`1s`, `1d`). Stored as given, so what was set is what is shown.
 */
export interface Limits {
  /** At most `requests` requests over any `per` (1s…1h), as a sliding window. */
  rate?: { requests: number; per: string };
  /** At most `bytes` of request plus response body per `per` (1h…30d), in fixed windows aligned to UTC. */
  quota?: { bytes: number; per: string };
  /** At most this many exchanges in flight at once. */
  streams?: number;
}

export const RIGHTS = ['stream', 'query', 'modify', 'delete', 'admin'] as const;
export type Right = (typeof RIGHTS)[number];

/** Names of repositories and users (docs/tokens.md). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Repository scope of a token: one repository, or `*` for all. */
export const ALL_REPOSITORIES = '*';

export type StoredStatus = 'active' | 'revoked';
export type TokenStatus = StoredStatus | 'expired';
/** The status people see: an active token that was rolled and still works through its overlap reads `rolled`. */
export type ShownStatus = TokenStatus | 'rolled';

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
  /** The client address and User-Agent (cut to 256 characters) of that last use. */
  lastUsedIp: string | null;
  lastUsedUserAgent: string | null;
  /** Bumped by every change; a change is written only over the version it was decided on (compare-and-set). */
  version: number;
  /**
   * The token that lent this one (its maker), or null for an independent token. A lent token
   * expires no later than its maker and is revoked with it, so lending lends nothing that
   * outlives the loan. Tokens written before `lent` existed may name their maker here while
   * not lent: they are independent.
   */
  parentId: string | null;
  /**
   * True for a lent token (made by self-service, by a lent token, or with `lend: true`): bound
   * to `parentId`, and every request it makes also spends from its maker's budgets. Absent in
   * stores written before it existed: independent.
   */
  lent?: boolean;
  /**
   * The id its budget counters are kept under: its own id (absent), or the id of the token it
   * was rolled from, so a roll carries the spent budget over and an overlap shares one budget.
   */
  budgetId?: string;
  /** Rate, byte quota and open streams (absent or null: none of its own; the repository's defaults apply). */
  limits?: Limits | null;
  /**
   * The token this one was rolled into. While its overlap runs it still works, is shown as
   * `rolled`, keeps its name beside its successor's, and name lookups pick the successor.
   */
  rolledTo?: string;
  /** True: the token may roll itself without `admin` (an unattended client renewing its own secret). */
  selfRotate?: boolean;
  /** CIDRs its requests must come from (absent or empty: any address). */
  allowFrom?: string[];
  /** Up to 16 `key: value` strings (owner, cost centre, pipeline): shown and searched, never used to authorize. */
  labels?: Record<string, string>;
  /**
   * The organization of its repository (or of its `@org` scope), fixed at creation since a
   * repository never changes organization. Absent: none for `*`; `default` for a token written
   * before organizations (every repository was in `default` then). Read with tokenOrganization().
   */
  organization?: string;
}

/** The organization a token belongs to (null: `*`, above every organization). */
export function tokenOrganization(record: Pick<TokenRecord, 'repository' | 'organization'>): string | null {
  if (record.repository === ALL_REPOSITORIES) return null;
  return record.organization ?? scopedOrganization(record.repository) ?? DEFAULT_ORGANIZATION;
}

/**
 * What listing, search, sort and visibility read of a token: the store's list index keeps
 * only these (a full TokenRecord satisfies the type). The hash, rights, audit fields and
 * last-use address are fetched by id for the page being shown (TokenStore.getTokens).
 */
export type TokenSummary = Pick<
  TokenRecord,
  | 'id'
  | 'kind'
  | 'name'
  | 'prefix'
  | 'repository'
  | 'user'
  | 'status'
  | 'createdAt'
  | 'expiresAt'
  | 'lastUsedAt'
  | 'parentId'
  | 'lent'
  | 'budgetId'
  | 'rolledTo'
  | 'labels'
>;

/** True for a lent token; a token without the field (written before it existed) is independent. */
export const isLent = (record: Pick<TokenRecord, 'lent'>): boolean => record.lent === true;

/** The id a token's budget counters are kept under (its own unless it was rolled). */
export const budgetIdOf = (record: Pick<TokenRecord, 'id' | 'budgetId'>): string => record.budgetId ?? record.id;

export const HISTORY_ACTIONS = ['created', 'edited', 'revoked', 'restored', 'deleted', 'rolled', 'leaked'] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

export interface HistoryEntry {
  at: number;
  actor: string;
  action: HistoryAction;
  changes: Record<string, { from: unknown; to: unknown }>;
  /** Why, when the change followed from another (a loan ended with its maker). */
  reason?: string;
}

export interface RepositoryRecord {
  name: string;
  createdAt: number;
  createdBy: string;
  /** Limits for its tokens that carry none of their own. */
  limits?: Limits | null;
  /** The organization it belongs to, for ever; absent (stores written before organizations): `default`. */
  organization?: string;
}

/** The organization every install has, holding every repository made without naming one (docs/organizations.md). */
export const DEFAULT_ORGANIZATION = 'default';

/** A tenant above repositories (docs/organizations.md). */
export interface OrganizationRecord {
  name: string;
  displayName: string;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
}

/** `default` as it reads before anyone wrote it: present from the start, in every store. */
export const defaultOrganization = (): OrganizationRecord => ({
  name: DEFAULT_ORGANIZATION,
  displayName: 'Default',
  createdAt: 0,
  createdBy: 'tollgate',
  updatedAt: 0,
});

/** The organization a repository belongs to (`default` for one written before organizations). */
export const organizationOf = (repository: Pick<RepositoryRecord, 'organization'>): string => repository.organization ?? DEFAULT_ORGANIZATION;

/** The scope `@acme`: every repository of `acme`, now and later; accepted wherever a repository is. */
export const organizationScope = (organization: string): string => `@${organization}`;

/** The organization an `@org` scope names, or undefined for a repository name or `*`. */
export const scopedOrganization = (scope: string): string | undefined => (scope.startsWith('@') ? scope.slice(1) : undefined);

/**
 * repository name (or `*`) -> rights held there. A plain object (it is JSON in the store), so
 * it is read only through rightsIn(): a repository named `constructor` must find nothing, not
 * Object.prototype's member.
 */
export type Grants = Record<string, Right[]>;

/** The rights `grants` hold on exactly `repository` (own keys only; never the prototype's). */
export function rightsIn(grants: Readonly<Grants>, repository: string): readonly Right[] | undefined {
  return Object.hasOwn(grants, repository) ? grants[repository] : undefined;
}

export interface UserRecord {
  name: string;
  grants: Grants;
  /**
   * True: every personal token of the user and every workload identity mapped to them is
   * refused, and their open exchanges end (docs/workload-identity.md). Absent: enabled.
   */
  disabled?: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A named group of users holding grants like a user (docs/tokens.md). */
export interface TeamRecord {
  name: string;
  /** The one organization it belongs to; absent (written before organizations): `default`. */
  organization?: string;
  members: string[];
  grants: Grants;
  createdAt: number;
  updatedAt: number;
}

/**
 * A user's grants: their own ∪ those of every team they belong to. Built without a prototype,
 * so no repository name can find anything but what was granted.
 */
export function combineGrants(own: Readonly<Grants>, teams: readonly Pick<TeamRecord, 'grants'>[]): Grants {
  const out = Object.create(null) as Grants;
  for (const grants of [own, ...teams.map((team) => team.grants)]) {
    for (const repository of Object.keys(grants)) {
      const rights = rightsIn(grants, repository) ?? [];
      const merged = new Set([...(rightsIn(out, repository) ?? []), ...rights]);
      out[repository] = RIGHTS.filter((right) => merged.has(right));
    }
  }
  return out;
}

/** The last use of a token, as the proxy saw it; written in batches. */
export interface LastUse {
  at: number;
  ip: string | null;
  userAgent: string | null;
}

/** True once the expiry has passed; a token without expiry never expires. */
export function isExpired(record: Pick<TokenRecord, 'expiresAt'>, now: number): boolean {
  return record.expiresAt !== null && record.expiresAt <= now;
}

/** The status shown to people: `expired` is derived from the clock, never stored. */
export function statusAt(record: Pick<TokenRecord, 'status' | 'expiresAt'>, now: number): TokenStatus {
  if (record.status === 'revoked') return 'revoked';
  return isExpired(record, now) ? 'expired' : 'active';
}

/** The status the API and the page show: `statusAt`, with an active token in a roll's overlap as `rolled`. */
export function shownStatusAt(record: Pick<TokenRecord, 'status' | 'expiresAt' | 'rolledTo'>, now: number): ShownStatus {
  const status = statusAt(record, now);
  return status === 'active' && record.rolledTo !== undefined ? 'rolled' : status;
}

/**
 * The scope a token's name is unique in (docs/tokens.md): its user for a personal token, its
 * repository for a repository token.
 */
export function nameScopeOf(record: Pick<TokenRecord, 'kind' | 'repository' | 'user'>): string {
  return record.kind === 'personal' ? `user:${record.user ?? ''}` : `repository:${record.repository}`;
}

/** Whether a token holds its name in its scope: every token not deleted, except one rolled into another (its successor holds it). */
export const holdsName = (record: Pick<TokenRecord, 'rolledTo'>): boolean => record.rolledTo === undefined;

/** An epoch-ms time as ISO 8601 (null stays null): the one place the API's times are written. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** History entries as the API shows them: times in ISO 8601. */
