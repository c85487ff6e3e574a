import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { ALL_REPOSITORIES, NAME_PATTERN, RIGHTS } from '../tokens/record.js';
import { invalidRequest, type FieldFault } from './errors.js';

const name = z.string().regex(NAME_PATTERN, 'expected lowercase letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63');
const scope = z.union([z.literal(ALL_REPOSITORIES), name], { error: 'expected a repository name or "*"' });
const rights = z
  .array(z.enum(RIGHTS, { error: `expected one of ${RIGHTS.join(', ')}` }))
  .min(1, 'expected at least one right')
  .refine((list) => new Set(list).size === list.length, 'expected each right at most once');
const expiresIn = z.string().refine((text) => (parseDuration(text) ?? 0) > 0, 'expected a duration such as 12h or 30d');
const expiresAt = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2027-01-31T00:00:00Z' });

/** Body of POST /v1/tokens. */
export const createTokenBody = z
  .strictObject({
    kind: z.enum(['repository', 'personal'], { error: 'expected "repository" or "personal"' }),
    name: z.string().trim().min(1, 'expected a non-empty name').max(200, 'expected at most 200 characters'),
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
  });
export type CreateTokenBody = z.output<typeof createTokenBody>;

/** Body of POST /v1/repositories. */
export const createRepositoryBody = z.strictObject({ name });

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
