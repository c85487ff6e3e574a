import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { ALL_REPOSITORIES, NAME_PATTERN, RIGHTS } from '../tokens/record.js';
import { invalidRequest, type FieldFault } from './errors.js';
import { SORT_FIELDS } from './token-query.js';

// One set of schemas validates requests and is turned into the OpenAPI description.

const name = z
  .string()
  .regex(NAME_PATTERN, 'expected lowercase letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63');
const scope = z.union([z.literal(ALL_REPOSITORIES), name], { error: 'expected a repository name or "*"' });
const right = z.enum(RIGHTS, { error: `expected one of ${RIGHTS.join(', ')}` });
const rights = z
  .array(right)
  .min(1, 'expected at least one right')
  .refine((list) => new Set(list).size === list.length, 'expected each right at most once');
const expiresIn = z
  .string()
  .refine((text) => (parseDuration(text) ?? 0) > 0, 'expected a duration such as 12h or 30d')
  .meta({ example: '30d' });
const expiresAt = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2027-01-31T00:00:00Z' });
const tokenName = z.string().trim().min(1, 'expected a non-empty name').max(200, 'expected at most 200 characters');
const isoOrNull = z.union([z.iso.datetime(), z.null()]);

/** Body of POST /v1/tokens. */
export const createTokenBody = z
  .strictObject({
    kind: z.enum(['repository', 'personal'], { error: 'expected "repository" or "personal"' }),
    name: tokenName,
    repository: scope,
    user: name.optional(),
    rights,
    expiresIn: expiresIn.optional(),
    expiresAt: expiresAt.optional(),
  })
  .superRefine((body, ctx) => {
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
  .meta({ id: 'CreateToken' });
export type CreateTokenBody = z.output<typeof createTokenBody>;

/** Body of PATCH /v1/tokens/{id}; `expiresAt: null` removes the expiry. */
export const editTokenBody = z
  .strictObject({
    name: tokenName.optional(),
    rights: rights.optional(),
    expiresIn: expiresIn.optional(),
    expiresAt: z.union([expiresAt, z.null()]).optional(),
  })
  .superRefine((body, ctx) => {
    if (body.expiresIn !== undefined && body.expiresAt !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'give expiresIn or expiresAt, not both' });
    }
    if (Object.keys(body).length === 0) ctx.addIssue({ code: 'custom', path: [], message: 'give at least one of name, rights, expiresIn, expiresAt' });
  })
  .meta({ id: 'EditToken' });
export type EditTokenBody = z.output<typeof editTokenBody>;

/** Body of POST /v1/tokens/delete. */
export const bulkDeleteBody = z
  .strictObject({ ids: z.array(z.string().regex(/^[0-9a-f]{16}$/, 'expected a token id')).min(1).max(500) })
  .meta({ id: 'BulkDelete' });

/** Query of GET /v1/tokens (values arrive as strings). */
export const listTokensQuery = z
  .strictObject({
    q: z.string().max(200).optional(),
    status: z.enum(['active', 'revoked', 'expired']).optional(),
    kind: z.enum(['repository', 'personal']).optional(),
    repository: scope.optional(),
    user: name.optional(),
    sort: z
      .string()
      .optional()
      .meta({ description: `comma list, priority left to right, "-" for descending; fields ${SORT_FIELDS.join(', ')}` }),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(2000).optional(),
  })
  .meta({ id: 'ListTokensQuery' });

/** Body of POST /v1/repositories. */
export const createRepositoryBody = z.strictObject({ name }).meta({ id: 'CreateRepository' });

const grants = z.record(scope, z.array(right).refine((list) => new Set(list).size === list.length, 'expected each right at most once'));

/** Body of POST /v1/users. */
export const createUserBody = z.strictObject({ name, grants: grants.default({}) }).meta({ id: 'CreateUser' });
/** Body of PATCH /v1/users/{name}: the grants replace the old ones. */
export const editUserBody = z.strictObject({ grants }).meta({ id: 'EditUser' });

/** Responses, for the OpenAPI description. */
export const tokenView = z
  .object({
    id: z.string(),
    kind: z.enum(['repository', 'personal']),
    name: z.string(),
    repository: z.string(),
    user: z.string().nullable(),
    rights: z.array(right),
    status: z.enum(['active', 'revoked', 'expired']),
    prefix: z.string(),
    createdAt: z.iso.datetime(),
    createdBy: z.string(),
    updatedAt: z.iso.datetime(),
    expiresAt: isoOrNull,
    revokedAt: isoOrNull,
    lastUsedAt: isoOrNull,
  })
  .meta({ id: 'Token' });
export const createdToken = z
  .object({ token: tokenView, secret: z.string(), connectUri: z.string().optional(), qr: z.string().optional() })
  .meta({ id: 'CreatedToken' });
export const tokenPage = z
  .object({ items: z.array(tokenView), total: z.number().int(), nextCursor: z.string().nullable() })
  .meta({ id: 'TokenPage' });
export const bulkDeleteResult = z
  .object({ deleted: z.array(z.string()), failed: z.array(z.object({ id: z.string(), reason: z.enum(['not_found', 'active', 'forbidden']) })) })
  .meta({ id: 'BulkDeleteResult' });
export const historyPage = z
  .object({
    items: z.array(
      z.object({
        at: z.iso.datetime(),
        actor: z.string(),
        action: z.enum(['created', 'edited', 'revoked', 'restored', 'deleted']),
        changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
      }),
    ),
  })
  .meta({ id: 'History' });
export const userView = z
  .object({ name: z.string(), grants: z.record(z.string(), z.array(right)), createdAt: z.iso.datetime(), updatedAt: z.iso.datetime() })
  .meta({ id: 'User' });
export const repositoryView = z.object({ name: z.string(), createdAt: z.iso.datetime(), createdBy: z.string() }).meta({ id: 'Repository' });
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
