import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { parseCidr } from '../http/address-bounds.js';
import { QUOTA_PER_MAX_MS, QUOTA_PER_MIN_MS, RATE_PER_MAX_MS, RATE_PER_MIN_MS } from '../limits/limits.js';
import { EVENT_TYPES } from '../tokens/event-types.js';
import { ALL_REPOSITORIES, HISTORY_ACTIONS, NAME_PATTERN, RIGHTS } from '../tokens/record.js';
import { USAGE_ORDERS } from '../usage/usage-report.js';
import { type FieldFault, invalidRequest } from './errors.js';
import { TOKEN_VIEW_ACTIONS } from './policy.js';
import { SORT_FIELDS } from './token-query.js';

// One set of schemas validates requests and is turned into the OpenAPI description.

const name = z.string().regex(NAME_PATTERN, 'expected lowercase letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63');
/** `@acme`: every repository of the organization acme, now and later (docs/organizations.md). */
const organizationScope = z.string().regex(/^@[a-z0-9][a-z0-9._-]{0,62}$/, 'expected @ and an organization name');
const scope = z.union([z.literal(ALL_REPOSITORIES), name, organizationScope], { error: 'expected a repository name, "@organization" or "*"' });
const right = z.enum(RIGHTS, { error: `expected one of ${RIGHTS.join(', ')}` });
const rights = z
  .array(right)
  .min(1, 'expected at least one right')
  .refine((list) => new Set(list).size === list.length, 'expected each right at most once');
/** The longest lifetime a duration may ask for: 100 years keeps every date in range (a bigger one overflowed to a 500). */
export const MAX_LIFETIME_MS = 36_500 * 86_400_000;
const expiresIn = z
  .string()
  .max(32, 'expected a duration such as 12h or 30d')
  .refine((text) => (parseDuration(text) ?? 0) > 0, 'expected a duration such as 12h or 30d')
  .refine((text) => (parseDuration(text) ?? 0) <= MAX_LIFETIME_MS, 'expected at most 36500d (100 years)')
  .meta({ example: '30d' });
const expiresAt = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2027-01-31T00:00:00Z' });
/**
 * Characters that move a terminal's cursor or reorder text: C0 and C1 controls, DEL, line and
 * paragraph separators, and bidi overrides and isolates. A name holding one could fake rows in
 * someone else's `tollgate token list`.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const tokenName = z
  .string()
  .trim()
  .min(1, 'expected a non-empty name')
  .max(200, 'expected at most 200 characters')
  .refine((text) => !CONTROL.test(text), 'expected no control, line-separator or bidi-override characters');
const isoOrNull = z.union([z.iso.datetime(), z.null()]);

/** At most this many `allowFrom` entries and labels on one token. */
export const MAX_ALLOW_FROM = 64;
export const MAX_LABELS = 16;

/** One CIDR (or a bare address: a /32 or /128), IPv4 or IPv6, written the way people write them. */
const cidr = z
  .string()
  .max(64, 'expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32')
  .refine((text) => parseCidr(text) !== undefined, 'expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32 (IPv4 prefix 0-32, IPv6 0-128)');
const allowFrom = z.array(cidr).max(MAX_ALLOW_FROM, `expected at most ${MAX_ALLOW_FROM} CIDRs`).meta({
  description:
    "CIDRs the token's requests must come from (empty: any address); the address is the socket's, or the first X-Forwarded-For hop when proxy.trustedProxies lists the peer",
});
const LABEL_KEY = /^[a-z0-9][a-z0-9._/-]{0,62}$/;
const labels = z
  .record(
    z.string().regex(LABEL_KEY, 'expected a label key of lowercase letters, digits, ".", "_", "/" or "-", at most 63'),
    z
      .string()
      .max(200, 'expected a label value of at most 200 characters')
      .refine((text) => !CONTROL.test(text), 'expected no control characters'),
  )
  .refine((map) => Object.keys(map).length <= MAX_LABELS, `expected at most ${MAX_LABELS} labels`)
  .meta({ description: 'up to 16 `key: value` strings (owner, cost centre, pipeline): shown and searchable, never used to authorize' });
const selfRotate = z
  .boolean({ error: 'expected true or false' })
  .meta({ description: 'true: the token may roll itself without the admin right (POST /v1/tokens/{id}/roll with its own secret)' });

/** A duration between two bounds, for a limit's window. */
const windowOf = (minMs: number, maxMs: number, range: string) =>
  z
    .string()
    .max(32, `expected a duration from ${range}`)
    .refine((text) => {
      const ms = parseDuration(text);
      return ms !== undefined && ms >= minMs && ms <= maxMs;
    }, `expected a duration from ${range}`);

/** A token's (or a repository's default) limits (docs/limits.md). */
export const limitsSchema = z
  .strictObject({
    rate: z
      .strictObject({
        requests: z
          .number({ error: 'expected a whole number of requests' })
          .int('expected a whole number of requests')
          .min(1, 'expected at least 1 request')
          .max(1e9, 'expected at most 1000000000'),
        per: windowOf(RATE_PER_MIN_MS, RATE_PER_MAX_MS, '1s to 1h').meta({ example: '1s' }),
      })
      .optional()
      .meta({ description: 'at most `requests` over any `per` (a sliding window)' }),
    quota: z
      .strictObject({
        bytes: z
          .number({ error: 'expected a whole number of bytes' })
          .int('expected a whole number of bytes')
          .min(1, 'expected at least 1 byte')
          .max(Number.MAX_SAFE_INTEGER),
        per: windowOf(QUOTA_PER_MIN_MS, QUOTA_PER_MAX_MS, '1h to 30d').meta({ example: '1d' }),
      })
      .optional()
      .meta({ description: 'request plus response body bytes per `per`, in fixed windows aligned to UTC' }),
    streams: z
      .number({ error: 'expected a whole number of streams' })
      .int('expected a whole number of streams')
      .min(1, 'expected at least 1 stream')
      .max(100_000, 'expected at most 100000')
      .optional()
      .meta({ description: 'most exchanges in flight at once' }),
  })
  .meta({ id: 'Limits' });

/** Body of POST /v1/tokens. */
export const createTokenBody = z
  .strictObject({
    kind: z.enum(['repository', 'personal'], { error: 'expected "repository" or "personal"' }),
    name: tokenName,
    repository: scope.optional().meta({ description: "required for repository tokens; a personal token without one covers all its user's repositories (*)" }),
    user: name.optional(),
    rights,
    expiresIn: expiresIn.optional(),
    expiresAt: expiresAt.optional(),
    limits: limitsSchema.optional(),
    lend: z.boolean({ error: 'expected true or false' }).optional().meta({
      description:
        'true: a lent token, bound to the calling token (no later expiry, revoked with it, limits within its own, spending from its budget). Tokens made by self-service or by a lent token are always lent',
    }),
    selfRotate: selfRotate.optional(),
    allowFrom: allowFrom.optional(),
    labels: labels.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.kind === 'repository' && body.repository === undefined) {
      ctx.addIssue({ code: 'custom', path: ['repository'], message: 'required for a repository token' });
    }
    if (body.expiresIn !== undefined && body.expiresAt !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'give expiresIn or expiresAt, not both' });
    }
    if (body.kind === 'personal' && body.user === undefined) {
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'required for a personal token' });
    }
    if (body.kind === 'repository' && body.user !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'only personal tokens have a user' });
    }
  })
  .transform((body) => ({ ...body, repository: body.repository ?? ALL_REPOSITORIES }))
  .meta({ id: 'CreateToken' });
export type CreateTokenBody = z.output<typeof createTokenBody>;

/** Body of PATCH /v1/tokens/{id}; `expiresAt: null` removes the expiry. */
export const editTokenBody = z
  .strictObject({
    name: tokenName.optional(),
    rights: rights.optional(),
    expiresIn: expiresIn.optional(),
    expiresAt: z.union([expiresAt, z.null()]).optional(),
    limits: z
      .union([limitsSchema, z.null()])
      .optional()
      .meta({ description: "replaces the token's limits; null removes them (its repository's defaults then apply)" }),
    selfRotate: selfRotate.optional(),
    allowFrom: allowFrom.optional().meta({ description: 'replaces the list; [] removes the bound' }),
    labels: labels.optional().meta({ description: 'replaces every label; {} removes them' }),
  })
  .superRefine((body, ctx) => {
    if (body.expiresIn !== undefined && body.expiresAt !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'give expiresIn or expiresAt, not both' });
    }
    if (Object.keys(body).length === 0)
      ctx.addIssue({ code: 'custom', path: [], message: 'give at least one of name, rights, expiresIn, expiresAt, limits, selfRotate, allowFrom, labels' });
  })
  .meta({ id: 'EditToken' });
export type EditTokenBody = z.output<typeof editTokenBody>;

/** Body of POST /v1/tokens/delete. */
export const bulkDeleteBody = z
  .strictObject({
    ids: z
      .array(z.string().regex(/^[0-9a-f]{16}$/, 'expected a token id'))
      .min(1)
      .max(500),
  })
  .meta({ id: 'BulkDelete' });

/** Query of GET /v1/tokens (values arrive as strings). */
export const listTokensQuery = z
  .strictObject({
    q: z.string().max(200).optional(),
    status: z
      .enum(['active', 'rolled', 'revoked', 'expired'])
      .optional()
      .meta({ description: 'rolled: rolled into another token and still working through its overlap' }),
    kind: z.enum(['repository', 'personal']).optional(),
    label: z
      .string()
      .max(300)
      .regex(/^[^=]+=.*$/s, 'expected key=value, such as owner=team-a')
      .optional()
      .meta({ description: 'key=value: tokens carrying this label' }),
    repository: scope.optional(),
    organization: name.optional().meta({ description: 'tokens of this organization (its repositories and its @org scope)' }),
    user: name.optional(),
    expiresWithin: z
      .string()
      .max(32)
      .refine((text) => (parseDuration(text) ?? 0) > 0 && parseDuration(text)! <= MAX_LIFETIME_MS, 'expected a duration such as 7d, at most 36500d')
      .optional()
      .meta({ description: 'active tokens whose expiry falls within this duration from now' }),
    sort: z
      .string()
      .max(200, 'expected at most the eight sort fields, each once')
      .optional()
      .meta({ description: `comma list, priority left to right, "-" for descending; fields ${SORT_FIELDS.join(', ')}` }),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(2000).optional(),
  })
  .meta({ id: 'ListTokensQuery' });

/** Body of POST /v1/tokens/{id}/roll. */
export const MAX_OVERLAP_MS = 30 * 86_400_000;
export const rollBody = z
  .strictObject({
    overlap: z
      .string()
      .max(32)
      .refine((text) => parseDuration(text) !== undefined, 'expected a duration such as 0s, 1h or 24h')
      .refine((text) => (parseDuration(text) ?? 0) <= MAX_OVERLAP_MS, 'expected at most 30d')
      .default('0s')
      .meta({ description: 'how long the old secret keeps working (default 0s: revoked at once)' }),
  })
  .meta({ id: 'Roll' });

/** Body of POST /v1/tokens/leaked. */
export const leakedBody = z
  .strictObject({ secrets: z.array(z.string().max(200)).min(1, 'expected at least one secret').max(1000, 'expected at most 1000 secrets') })
  .meta({ id: 'LeakReport' });
export const leakedResult = z.object({ received: z.number().int(), revoked: z.number().int() }).meta({ id: 'LeakReportResult' });

export const settingsView = z
  .object({
    maxTokenLifetimeSeconds: z.number().nullable().meta({ description: 'admin.maxTokenLifetime; null: no cap' }),
    expiringNoticeSeconds: z.number().meta({ description: 'events.expiringNotice' }),
    eventTypes: z.array(z.enum(EVENT_TYPES)).meta({ description: 'every event type, as GET /v1/events filters by and webhooks send them' }),
  })
  .meta({ id: 'Settings' });

/** Body of POST /v1/repositories. */
export const createRepositoryBody = z
  .strictObject({ name, organization: name.default('default').meta({ description: 'the organization it belongs to, for ever (default: default)' }) })
  .meta({ id: 'CreateRepository' });

const grants = z.record(
  scope,
  z.array(right).refine((list) => new Set(list).size === list.length, 'expected each right at most once'),
);

const members = z.array(name).max(10_000, 'expected at most 10000 members');

/** Body of POST /v1/teams. */
export const createTeamBody = z
  .strictObject({
    name,
    organization: name.default('default').meta({ description: 'the one organization it belongs to; its grants stay inside it' }),
    members: members.default([]),
    grants: grants.default({}),
  })
  .meta({ id: 'CreateTeam' });
/** Body of PATCH /v1/teams/{name}: what is given replaces what was. */
export const editTeamBody = z
  .strictObject({ members: members.optional(), grants: grants.optional() })
  .refine((body) => body.members !== undefined || body.grants !== undefined, 'give members, grants or both')
  .meta({ id: 'EditTeam' });

/** Body of POST /v1/users. */
export const createUserBody = z.strictObject({ name, grants: grants.default({}) }).meta({ id: 'CreateUser' });
/** Body of PATCH /v1/users/{name}: the grants replace the old ones; `disabled` refuses everything the user holds. */
export const editUserBody = z
  .strictObject({
    grants: grants.optional(),
    disabled: z
      .boolean()
      .optional()
      .meta({ description: 'true: every personal token and workload identity of the user is refused, and their open exchanges end' }),
  })
  .refine((body) => body.grants !== undefined || body.disabled !== undefined, { message: 'give grants, disabled, or both' })
  .meta({ id: 'EditUser' });

/** Responses, for the OpenAPI description. */
/** A token as events and the CLI know it: the record, without what a caller may do to it. */
const tokenRecordView = z.object({
  id: z.string(),
  kind: z.enum(['repository', 'personal']),
  name: z.string(),
  repository: z.string(),
  user: z.string().nullable(),
  rights: z.array(right),
  status: z.enum(['active', 'rolled', 'revoked', 'expired']).meta({ description: 'rolled: rolled into `rolledTo`, working until `expiresAt` (the overlap)' }),
  prefix: z.string(),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  updatedAt: z.iso.datetime(),
  expiresAt: isoOrNull,
  revokedAt: isoOrNull,
  lastUsedAt: isoOrNull,
  lastUsedIp: z.string().nullable(),
  lastUsedUserAgent: z.string().nullable(),
  lent: z.boolean().meta({
    description:
      'true: lent by `parentId`, revoked with it, expiring no later and spending from its budgets; false: independent, it outlives the token that made it',
  }),
  parentId: z
    .string()
    .nullable()
    .meta({ description: 'the token that lent this one (null for an independent token; one written before lent tokens existed may still name its maker)' }),
  limits: limitsSchema.nullable().meta({ description: "the token's own limits; null: none of its own (its repository's defaults apply)" }),
  rolledTo: z.string().nullable().meta({ description: 'the token this one was rolled into (null: not rolled)' }),
  selfRotate: z.boolean(),
  allowFrom: z.array(z.string()).meta({ description: 'CIDRs its requests must come from (empty: any address)' }),
  labels: z.record(z.string(), z.string()),
  organization: z.string().nullable().meta({ description: 'the organization of its repository or `@org` scope; null for `*`, above every organization' }),
});
/** The views the API answers with, derived from the schemas that describe them (one definition). */
export type TokenView = z.output<typeof tokenRecordView>;
/** A token as the admin API answers it: the record, and what this caller may do to it now. */
export const tokenView = tokenRecordView
  .extend({
    actions: z.array(z.enum(TOKEN_VIEW_ACTIONS)).meta({
      description:
        'what the calling token may do to this token now (edit, roll, revoke, restore, delete): the server carries these out and refuses the others (403 or 409)',
    }),
  })
  .meta({ id: 'Token' });
export type CallerTokenView = z.output<typeof tokenView>;

/** GET /v1/whoami: the calling token and what it may do, so clients offer only what will pass. */
export const whoamiView = z
  .object({
    token: tokenView,
    role: z.enum(['star', 'scoped', 'personal', 'none']).meta({
      description: "star: admin of every repository; scoped: admin of some; personal: self-service on its own user's personal tokens; none: no admin API",
    }),
    effectiveRights: z
      .record(z.string(), z.array(right))
      .meta({ description: "repository (or *) -> the rights the token really holds there now (a personal token: its rights ∩ its user's grants)" }),
  })
  .meta({ id: 'Whoami' });

export const createdToken = z
  .object({ token: tokenView, secret: z.string(), connectUri: z.string().optional(), qr: z.string().optional() })
  .meta({ id: 'CreatedToken' });
export const tokenPage = z.object({ items: z.array(tokenView), total: z.number().int(), nextCursor: z.string().nullable() }).meta({ id: 'TokenPage' });
export const bulkDeleteResult = z
  .object({ deleted: z.array(z.string()), failed: z.array(z.object({ id: z.string(), reason: z.enum(['not_found', 'active', 'forbidden']) })) })
  .meta({ id: 'BulkDeleteResult' });
export const historyPage = z
  .object({
    items: z.array(
      z.object({
        at: z.iso.datetime(),
        actor: z.string(),
        action: z.enum(HISTORY_ACTIONS),
        changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
        reason: z.string().optional().meta({ description: 'why, when the change followed from another: a lent token revoked with its maker' }),
      }),
    ),
  })
  .meta({ id: 'History' });
const grantsView = z.record(z.string(), z.array(right));
export const userView = z
  .object({
    name: z.string(),
    grants: grantsView,
    teams: z.array(z.string()),
    effectiveGrants: grantsView.meta({ description: "the user's own grants ∪ their teams' grants" }),
    disabled: z.boolean().meta({ description: "true: the user's tokens and workload identities are refused" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'User' });
export const teamView = z
  .object({
    name: z.string(),
    organization: z.string().meta({ description: 'the one organization it belongs to' }),
    members: z.array(z.string()),
    grants: grantsView,
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Team' });
export const repositoryView = z
  .object({
    name: z.string(),
    createdAt: z.iso.datetime(),
    createdBy: z.string(),
    limits: limitsSchema.nullable().meta({ description: 'default limits of its tokens that have none of their own' }),
    organization: z.string().meta({ description: 'the organization it belongs to, for ever' }),
  })
  .meta({ id: 'Repository' });

// Organizations (docs/organizations.md).

const displayName = z
  .string()
  .trim()
  .min(1, 'expected a non-empty display name')
  .max(200, 'expected at most 200 characters')
  .refine((text) => !CONTROL.test(text), 'expected no control, line-separator or bidi-override characters');
/** Body of POST /v1/organizations. */
export const createOrganizationBody = z.strictObject({ name, displayName: displayName.optional() }).meta({ id: 'CreateOrganization' });
/** Body of PATCH /v1/organizations/{name}. */
export const editOrganizationBody = z.strictObject({ displayName }).meta({ id: 'EditOrganization' });
export const organizationView = z
  .object({ name: z.string(), displayName: z.string(), createdAt: z.iso.datetime(), createdBy: z.string(), updatedAt: z.iso.datetime() })
  .meta({ id: 'Organization' });
export type OrganizationView = z.output<typeof organizationView>;
/** Query of the lists that take `organization=`: only what belongs to that organization. */
export const organizationFilter = z.object({ organization: name.optional() }).meta({ id: 'OrganizationFilter' });

/** Body of PATCH /v1/repositories/{name}: the default limits of its tokens (null removes them). */
export const editRepositoryBody = z.strictObject({ limits: z.union([limitsSchema, z.null()]) }).meta({ id: 'EditRepository' });

const limitUsage = z.object({
  limit: z.number().int(),
  used: z.number().int().meta({ description: 'handed out to replicas in this window (an upper bound of what was spent)' }),
  left: z.number().int(),
  windowStart: z.iso.datetime().optional(),
  resetsAt: z.iso.datetime().optional(),
});
/** GET /v1/tokens/{id}/usage. */
export const usageView = z
  .object({
    id: z.string(),
    limits: limitsSchema.nullable().meta({ description: "the limits in force: its own, else its repository's defaults" }),
    source: z.enum(['token', 'repository', 'none']),
    rate: limitUsage.optional(),
    quota: limitUsage.optional(),
    streams: limitUsage.optional(),
  })
  .meta({ id: 'Usage' });
export type UsageView = z.output<typeof usageView>;
export type ListTokensQuery = z.output<typeof listTokensQuery>;
export type BulkDeleteBody = z.output<typeof bulkDeleteBody>;
export type RollBody = z.output<typeof rollBody>;
export type LeakedBody = z.output<typeof leakedBody>;
export type CreateUserBody = z.output<typeof createUserBody>;
export type EditUserBody = z.output<typeof editUserBody>;
export type CreateTeamBody = z.output<typeof createTeamBody>;
export type EditTeamBody = z.output<typeof editTeamBody>;
export type CreateRepositoryBody = z.output<typeof createRepositoryBody>;
export type EditRepositoryBody = z.output<typeof editRepositoryBody>;
export type CreateOrganizationBody = z.output<typeof createOrganizationBody>;
export type EditOrganizationBody = z.output<typeof editOrganizationBody>;
export type OrganizationFilter = z.output<typeof organizationFilter>;
export type UserView = z.output<typeof userView>;
export type TeamView = z.output<typeof teamView>;
export type RepositoryView = z.output<typeof repositoryView>;
/** Query of GET /v1/events. */
// Usage history (docs/usage.md).
const usageTime = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2027-01-31T00:00:00Z' });
/** GET /v1/tokens/{id}/usage/history. */
export const usageHistoryQuery = z
  .strictObject({
    from: usageTime.optional().meta({ description: 'start (rounded down to the step); default: 7 days before `to`' }),
    to: usageTime.optional().meta({ description: 'end, exclusive (rounded up to the step); default: now' }),
    step: z.enum(['1h', '1d']).optional().meta({ description: 'default 1h' }),
  })
  .meta({ id: 'UsageHistoryQuery' });
/** GET /v1/usage. */
export const usageTopQuery = z
  .strictObject({
    repository: z.string().regex(NAME_PATTERN, 'expected a repository name').optional().meta({ description: 'only tokens of this repository' }),
    organization: z
      .string()
      .regex(NAME_PATTERN, 'expected an organization name')
      .optional()
      .meta({ description: "only tokens of this organization's repositories and of its @org scope" }),
    from: usageTime.optional().meta({ description: 'start (rounded down to the hour); default: 7 days before `to`' }),
    to: usageTime.optional().meta({ description: 'end, exclusive (rounded up to the hour); default: now' }),
    top: z.coerce.number().int().min(1).max(1000).optional().meta({ description: 'how many tokens, default 10, at most 1000' }),
    by: z.enum(USAGE_ORDERS).optional().meta({ description: 'what to rank by: requests (allowed and refused; the default), bytesIn, bytesOut or refused' }),
  })
  .meta({ id: 'UsageTopQuery' });
const usageFigures = {
  allowed: z.number().int(),
  refused: z.number().int().meta({ description: 'refused after the token was known, every reason' }),
  refusedBy: z.record(z.string(), z.number().int()).meta({ description: 'the refusals by reason (insufficient_scope, rate_limited, ...)' }),
  bytesIn: z.number().int().meta({ description: 'body bytes from the client, of exchanges that ended in the step' }),
  bytesOut: z.number().int().meta({ description: 'body bytes to the client, of exchanges that ended in the step' }),
};
export const usageHistoryView = z
  .object({
    id: z.string(),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    step: z.enum(['1h', '1d']),
    items: z.array(z.object({ at: z.iso.datetime(), ...usageFigures })),
  })
  .meta({ id: 'UsageHistory' });
export const usageTopView = z
  .object({
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    by: z.enum(USAGE_ORDERS),
    items: z.array(
      z.object({ id: z.string(), name: z.string().nullable().meta({ description: 'null: deleted since' }), repository: z.string(), ...usageFigures }),
    ),
  })
  .meta({ id: 'UsageTop' });

export const listEventsQuery = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(500).optional().meta({ description: 'default 50, at most 500' }),
    type: z.enum(EVENT_TYPES).optional(),
    token: z
      .string()
      .regex(/^[0-9a-f]{16}$/, 'expected a token id')
      .optional()
      .meta({ description: 'only the events of this token' }),
    actor: z.string().max(200).optional().meta({ description: 'only the changes this actor made (a user name, or token:<id>)' }),
    organization: name.optional().meta({ description: 'only the events of this organization: its tokens, repositories, teams and itself' }),
  })
  .meta({ id: 'ListEventsQuery' });
export type ListEventsQuery = z.output<typeof listEventsQuery>;
export type UsageHistoryQuery = z.output<typeof usageHistoryQuery>;
export type UsageTopQuery = z.output<typeof usageTopQuery>;
export const eventPage = z
  .object({
    items: z.array(
      z.object({
        id: z.string().meta({ description: 'the webhook-id header of its deliveries' }),
        type: z.enum(EVENT_TYPES),
        timestamp: z.iso.datetime(),
        actor: z
          .string()
          .nullable()
          .meta({ description: 'who made the change (a user, or token:<id>), as history names it; null where the change does not record one' }),
        data: z.unknown().meta({ description: 'the JSON view of the thing, as the API shows it' }),
        deliveries: z.array(
          z.object({
            webhook: z.string().meta({ description: 'the URL without query or credentials' }),
            state: z.enum(['queued', 'sending', 'waiting', 'delivered', 'failed']),
            attempts: z.number().int(),
            lastAttemptAt: z.iso.datetime().nullable(),
            nextAttemptAt: z.iso.datetime().nullable(),
            deliveredAt: z.iso.datetime().nullable(),
            lastStatus: z.number().int().nullable(),
            lastError: z.string().nullable(),
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'EventPage' });
export const problem = z
  .object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(), requestId: z.string() })
  .meta({ id: 'Problem' });

/** Parses `input` with `schema`, or throws a 400 problem naming every field at fault. */
export function parseBody<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const faults: FieldFault[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) faults.push({ field: [...issue.path, key].join('.'), message: 'unknown field' });
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      faults.push({ field: issue.path.join('.') || '(body)', message: 'required' });
    } else {
      faults.push({ field: issue.path.join('.') || '(body)', message: issue.message });
    }
  }
  throw invalidRequest(faults);
}
