import { covers, effectiveRights } from '../auth/authorize.js';
import type { Limits } from '../limits/limits.js';
import { ALL_REPOSITORIES, isLent, organizationScope, type Right, statusAt, type TokenRecord } from '../tokens/record.js';
import { administers, type Caller, type Role } from './caller.js';

/**
 * Who may do what on the admin port, in one place. Every service asks here; nothing else
 * decides scope.
 *
 * Reach (which tokens an action may touch):
 * - `any`:   every token;
 * - `admin`: tokens on a repository the caller administers (a `*` token only for a `*` admin),
 *            plus, for a personal caller, its own reach below;
 * - `own`:   personal tokens of the caller's own user, on repositories the caller's token covers;
 * - `none`:  refused.
 *
 * Bound (create, edit, roll, restore): the resulting token's rights are no wider than the
 * caller's effective rights on the token's repository (for a personal token of the caller's own
 * user: no wider than the caller's own rights, since both meet the same grants). A personal
 * token acts as its user, so one for another user is made only by a `*` admin (who manages
 * users). No action widens what the caller itself may do: its own token's expiry may only come
 * sooner, and no caller changes the grants of its own user.
 *
 * Independent and lent tokens: a token made by an admin token that is not itself lent is
 * independent (it outlives its maker; its limits stay within its repository's defaults unless
 * the maker is a `*` admin). One made by self-service, by a lent token, or with `lend: true` is
 * lent (`makesLent`): it expires no later than its maker, is revoked with it, and its limits
 * stay within its maker's (TokenService does that). A lent caller does the actions of
 * LINE_BOUND only to its own line (itself and the tokens lent down from it), and changes no
 * users, teams or repositories (mayChangeDirectory): nothing it does survives its maker.
 */
export type TokenAction = 'create' | 'read' | 'history' | 'edit' | 'roll' | 'revoke' | 'restore' | 'delete';
export type DirectoryAction =
  | 'read-users'
  | 'change-users'
  | 'change-grants'
  | 'teams'
  | 'list-repositories'
  | 'change-repositories'
  | 'repository-limits'
  | 'read-organizations'
  | 'edit-organizations'
  | 'change-organizations';
/**
 * `org`: within the organizations the caller administers (`admin` on `@acme`, docs/organizations.md):
 * their teams, repositories and the organization itself; for users, any user (the caller's own
 * included), of whom it sees and changes only the grants inside those organizations.
 */
type Reach = 'any' | 'admin' | 'org' | 'own' | 'none';

//                                       `*` admin      scoped admin      personal, no admin    repository, no admin
export const TOKEN_POLICY: Readonly<Record<TokenAction, Readonly<Record<Role, Reach>>>> = {
  create: /*                 */ { star: 'any', scoped: 'admin', personal: 'own', none: 'none' },
  read: /*                   */ { star: 'any', scoped: 'admin', personal: 'own', none: 'none' },
  history: /*                */ { star: 'any', scoped: 'admin', personal: 'own', none: 'none' },
  edit: /*                   */ { star: 'any', scoped: 'admin', personal: 'none', none: 'none' },
  roll: /*                   */ { star: 'any', scoped: 'admin', personal: 'none', none: 'none' },
  revoke: /*                 */ { star: 'any', scoped: 'admin', personal: 'own', none: 'none' },
  restore: /*                */ { star: 'any', scoped: 'admin', personal: 'own', none: 'none' },
  delete: /*                 */ { star: 'any', scoped: 'admin', personal: 'none', none: 'none' },
};

/**
 * What a lent caller may do only to its own line, because the result would hand access out
 * again or for longer (a roll's new secret, a restore, a later expiry, added rights or other
 * limits): `true` bounds the action. What only ends or shows access is never bounded. A token a
 * lent caller creates is lent by it, so it is of its line by construction.
 */
export const LINE_BOUND: Readonly<Record<TokenAction, boolean>> = {
  create: true,
  read: false,
  history: false,
  edit: true,
  roll: true,
  revoke: false,
  restore: true,
  delete: false,
};

/**
 * Users, teams, repositories and organizations. `own`: the caller's own user (read only);
 * `admin`: repositories it administers; `org`: see Reach. Creating, disabling and deleting users,
 * repositories' default limits, and creating or deleting organizations stay with `*` admins.
 */
export const DIRECTORY_POLICY: Readonly<Record<DirectoryAction, Readonly<Record<Role, Reach>>>> = {
  'read-users': /*           */ { star: 'any', scoped: 'org', personal: 'own', none: 'none' },
  'change-users': /*         */ { star: 'any', scoped: 'none', personal: 'none', none: 'none' },
  'change-grants': /*        */ { star: 'any', scoped: 'org', personal: 'none', none: 'none' },
  teams: /*                  */ { star: 'any', scoped: 'org', personal: 'none', none: 'none' },
  'list-repositories': /*    */ { star: 'any', scoped: 'admin', personal: 'none', none: 'none' },
  'change-repositories': /*  */ { star: 'any', scoped: 'org', personal: 'none', none: 'none' },
  'repository-limits': /*    */ { star: 'any', scoped: 'none', personal: 'none', none: 'none' },
  'read-organizations': /*   */ { star: 'any', scoped: 'org', personal: 'none', none: 'none' },
  'edit-organizations': /*   */ { star: 'any', scoped: 'org', personal: 'none', none: 'none' },
  'change-organizations': /* */ { star: 'any', scoped: 'none', personal: 'none', none: 'none' },
};

/** Actions whose target is a user; the others' target (for `org` reach) is an organization. */
const USER_TARGETS: ReadonlySet<DirectoryAction> = new Set(['read-users', 'change-users', 'change-grants']);

/**
 * What an admin route needs of its caller, declared by the route itself (routes.ts):
 * - `{ action }`: a valid token, judged by that action. A repository token without `admin`
 *   (role `none`) is refused with 403 here, rather than answered with an empty list as if there
 *   were nothing to see; the one exception is a `roll` by a token with `selfRotate` (the service
 *   checks it rolls itself). The services then judge the caller's reach per target;
 * - `{ open: 'every-token' }`: any valid token: what a client asks before it knows what its token may do;
 * - `{ auth: 'none' }`: no token at all (probes, the page's files, the leak report);
 * - `{ auth: 'metrics' }`: no token, or one with `admin` when `admin.metricsAuth` is on.
 */
export type RouteAccess = { action: RouteAction } | { open: 'every-token' } | { auth: 'none' } | { auth: 'metrics' };

/** An action a route is judged by: a token or directory action, or reading the event log (admins only). */
export type RouteAction = TokenAction | DirectoryAction | 'read-events';

/**
 * Why the caller may not call a route with this access at all (the detail of a 403), or
 * undefined when it may; the services then judge its reach. Routes without a caller never ask.
 */
export function routeRefusal(caller: Caller, access: RouteAccess): string | undefined {
  if (!('action' in access)) return undefined;
  const { action } = access;
  if (caller.role === 'none' && !(action === 'roll' && caller.identity.record.selfRotate === true)) {
    return 'this token has no admin right: the admin API answers it only GET /v1/whoami and GET /v1/settings';
  }
  if (action === 'read-events' && caller.role !== 'star' && caller.role !== 'scoped') return 'events are for tokens with the admin right';
  return undefined;
}

/** The organizations the caller administers (`admin` on `@org`); every one for a `*` admin is not listed here. */
export function adminOrganizations(caller: Caller): string[] {
  return [...(caller.identity.organizations?.named ?? [])].filter((organization) => administers(caller, organizationScope(organization))).sort();
}

/**
 * Whether a grant key (a repository, `@org` or `*`) is within what the caller administers: what
 * of a user's grants it sees and may change (a `*` admin: every key).
 */
export function administersGrant(caller: Caller, key: string): boolean {
  return administers(caller, key);
}

/**
 * Whether the caller rolls `token` as itself under `selfRotate`: only its own token, only when
 * that token says so. A roll widens nothing (same rights, expiry, limits, line), so this is
 * the one change a token may make to itself beyond its admin reach; nothing else widens itself.
 */
export function rollsItself(caller: Caller, token: { id: string; selfRotate?: boolean | undefined }): boolean {
  return token.selfRotate === true && token.id === caller.identity.record.id;
}

/** The part of a token the policy looks at. */
export type Subject = Pick<TokenRecord, 'kind' | 'repository' | 'user'>;

/** True when `token` is the caller's own user's personal token within the caller's own repository. */
function isOwn(caller: Caller, token: Subject): boolean {
  const own = caller.identity.record;
  return (
    own.kind === 'personal' && token.kind === 'personal' && token.user === own.user && covers(own.repository, token.repository, caller.identity.organizations)
  );
}

/** Whether the caller's reach for `action` includes `token`; the first check of every token action. */
export function reaches(caller: Caller, action: TokenAction, token: Subject): boolean {
  switch (TOKEN_POLICY[action][caller.role]) {
    case 'any':
      return true;
    case 'admin':
      return administers(caller, token.repository) || isOwn(caller, token);
    case 'own':
      return isOwn(caller, token);
    case 'org': // token reach is by repository (`admin`, which covers `@org`), never by this
    case 'none':
      return false;
  }
}

/** Whether the calling token is lent (its every act stays within its maker's). */
export function isLentCaller(caller: Caller): boolean {
  return isLent(caller.identity.record);
}

/** Whether a token this caller makes is lent: asked for, made by self-service, or made by a lent token. */
export function makesLent(caller: Caller, asked: boolean): boolean {
  return asked || caller.role === 'personal' || isLentCaller(caller);
}

/**
 * Whether `action` on a token is within the caller's line bound: always for a caller that is
 * not lent or an action LINE_BOUND leaves free; else only for the caller itself or a token
 * whose makers (`makers`, its lent line, nearest first) include the caller.
 */
export function withinLine(caller: Caller, action: TokenAction, token: { id: string }, makers: readonly string[]): boolean {
  if (!LINE_BOUND[action] || !isLentCaller(caller)) return true;
  const me = caller.identity.record.id;
  return token.id === me || makers.includes(me);
}

/**
 * The ceiling on the limits of a token this caller makes or edits: its maker's effective limits
 * for a lent token (only what it sets is compared: the maker's budget is spent too), the
 * repository's defaults for an independent one unless the caller is a `*` admin (every default
 * must then be set, and within). Undefined: no ceiling.
 */
export function limitsCeiling(
  caller: Caller,
  token: { lent: boolean; makerLimits: Limits | undefined; repositoryDefaults: Limits | undefined },
): { bound: Limits; mustSet: boolean; of: 'maker' | 'repository' } | undefined {
  if (token.lent) return token.makerLimits === undefined ? undefined : { bound: token.makerLimits, mustSet: false, of: 'maker' };
  if (caller.role === 'star' || token.repositoryDefaults === undefined) return undefined;
  return { bound: token.repositoryDefaults, mustSet: true, of: 'repository' };
}

/** Whether the caller may make a token that acts as `user` (a personal token): its own user, or as a `*` admin. */
export function mayActAs(caller: Caller, user: string): boolean {
  const own = caller.identity.record;
  return caller.role === 'star' || (own.kind === 'personal' && own.user === user);
}

/** The widest rights a token on `token.repository` may hold when this caller makes, edits or restores it. */
export function rightsBound(caller: Caller, token: Subject): Right[] {
  // Same user, same grants: at every repository the token holds its rights ∩ those grants, so
  // rights no wider than the caller's own keep it within the caller everywhere, `*` included.
  if (isOwn(caller, token)) return effectiveRightsAnywhere(caller, token.repository);
  return effectiveRights(caller.identity, token.repository);
}

/** Rights the caller holds somewhere within `repository` (`*`: on any repository its grants name). */
function effectiveRightsAnywhere(caller: Caller, repository: string): Right[] {
  if (repository !== ALL_REPOSITORIES) return effectiveRights(caller.identity, repository);
  const grants = caller.identity.grants ?? {};
  const granted = new Set(Object.values(grants).flat());
  return caller.identity.record.rights.filter((right) => granted.has(right));
}

/** Rights in `rights` beyond the bound; empty when the token stays within the caller. */
export function rightsBeyond(caller: Caller, token: Subject & { rights: readonly Right[] }): Right[] {
  const bound = rightsBound(caller, token);
  return token.rights.filter((right) => !bound.includes(right));
}

/** Whether the caller may change users, teams or repositories at all: not while lent (the change would outlive the loan). */
export function mayChangeDirectory(caller: Caller): boolean {
  return !isLentCaller(caller);
}

/**
 * Whether the caller may do a directory action on `target` (a repository for
 * `list-repositories`, a user for `read-users` and `change-users`).
 */
export function mayDirectory(caller: Caller, action: DirectoryAction, target?: string): boolean {
  const own = caller.identity.record;
  const isOwnUser = own.kind === 'personal' && own.user === target;
  // A caller that changed its own user's grants would change what it may do itself.
  if ((action === 'change-users' || action === 'change-grants') && isOwnUser) return false;
  switch (DIRECTORY_POLICY[action][caller.role]) {
    case 'any':
      return true;
    case 'admin':
      return target !== undefined && administers(caller, target);
    case 'org':
      if (USER_TARGETS.has(action)) return isOwnUser || adminOrganizations(caller).length > 0;
      return target !== undefined && administers(caller, organizationScope(target));
    case 'own':
      return own.kind === 'personal' && own.user === target;
    case 'none':
      return false;
  }
}

/** The actions a token view lists (`actions`): what the caller may do to that token now. */
export const TOKEN_VIEW_ACTIONS = ['edit', 'roll', 'revoke', 'restore', 'delete'] as const;
export type TokenViewAction = (typeof TOKEN_VIEW_ACTIONS)[number];

/** What besides the token record the answer needs: its lent line, and whether its maker is active now. */
export interface TokenLine {
  /** The token's lent line, nearest maker first (empty for an independent token). */
  makers: readonly string[];
  /** Whether the token that lent it exists and is active (only asked of a lent token). */
  isMakerActive: boolean;
}

/**
 * The actions of TOKEN_VIEW_ACTIONS the caller may take on `token` at `now`: exactly those the
 * token service would carry out rather than refuse (403 or 409), by the same rules:
 * - edit: reach (what an edit may change is then judged per field; a rename always passes);
 * - roll: reach, or a `selfRotate` token rolling itself; within the caller's line; the token
 *   active and not rolled yet; its rights within the caller's bound;
 * - revoke: reach, and not revoked already (an expired token may still be revoked);
 * - restore: reach; within the caller's line; revoked; its rights within the caller's bound; a
 *   lent token only while its maker is active;
 * - delete: reach, and no longer active (revoked or expired).
 */
export function tokenActions(caller: Caller, token: TokenRecord, now: number, line: TokenLine): TokenViewAction[] {
  const status = statusAt(token, now);
  const isWithinBound = () => rightsBeyond(caller, token).length === 0;
  const may: Record<TokenViewAction, () => boolean> = {
    edit: () => reaches(caller, 'edit', token),
    roll: () =>
      (rollsItself(caller, token) || reaches(caller, 'roll', token)) &&
      withinLine(caller, 'roll', token, line.makers) &&
      status === 'active' &&
      token.rolledTo === undefined &&
      isWithinBound(),
    revoke: () => reaches(caller, 'revoke', token) && token.status !== 'revoked',
    restore: () =>
      reaches(caller, 'restore', token) &&
      withinLine(caller, 'restore', token, line.makers) &&
      token.status === 'revoked' &&
      isWithinBound() &&
      (!isLent(token) || line.isMakerActive),
    delete: () => reaches(caller, 'delete', token) && status !== 'active',
  };
  return TOKEN_VIEW_ACTIONS.filter((action) => may[action]());
}
