import type { Problem } from '../http/problem.js';
import { PROBLEMS, type ProblemCode } from '../http/problems.js';

/** An admin API refusal with its status and stable problem type; the message is the `detail`. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers the refusal needs (Retry-After on a 429). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = 'AdminError';
  }

  /** The refusal for a registered problem (http/problems.ts). */
  static of(code: ProblemCode, detail: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): AdminError {
    const { status, type, title } = PROBLEMS[code];
    return new AdminError(status, type, title, detail, extra, headers);
  }

  toProblem(): Problem {
    return { status: this.status, type: this.type, title: this.title, detail: this.message, ...this.extra };
  }
}

/** The stable problem types (RFC 9457 `type`) the admin API answers with; callers switch on these. */
export const PROBLEM = {
  invalidRequest: PROBLEMS.invalid_request.type,
  notFound: PROBLEMS.not_found.type,
  conflict: PROBLEMS.conflict.type,
  insufficientScope: PROBLEMS.insufficient_scope.type,
} as const;

export interface FieldFault {
  field: string;
  message: string;
}

export const invalidRequest = (faults: FieldFault[]): AdminError =>
  AdminError.of('invalid_request', faults.map((f) => `${f.field}: ${f.message}`).join('; '), { errors: faults });

export const notFound = (what: string): AdminError => AdminError.of('not_found', `${what} does not exist`);

export const conflict = (detail: string): AdminError => AdminError.of('conflict', detail);

export const forbidden = (detail: string): AdminError => AdminError.of('insufficient_scope', detail);
