import type { Problem } from '../http/problem.js';

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

  toProblem(): Problem {
    return { status: this.status, type: this.type, title: this.title, detail: this.message, ...this.extra };
  }
}

/** The stable problem types (RFC 9457 `type`) the admin API answers with; callers switch on these. */
export const PROBLEM = {
  invalidRequest: '/problems/invalid-request',
  notFound: '/problems/not-found',
  conflict: '/problems/conflict',
  insufficientScope: '/problems/insufficient-scope',
} as const;

export interface FieldFault {
  field: string;
  message: string;
}

export const invalidRequest = (faults: FieldFault[]): AdminError =>
  new AdminError(400, PROBLEM.invalidRequest, 'Invalid request', faults.map((f) => `${f.field}: ${f.message}`).join('; '), {
    errors: faults,
  });

export const notFound = (what: string): AdminError => new AdminError(404, PROBLEM.notFound, 'Not found', `${what} does not exist`);

export const conflict = (detail: string): AdminError => new AdminError(409, PROBLEM.conflict, 'Conflict', detail);

export const forbidden = (detail: string): AdminError =>
  new AdminError(403, PROBLEM.insufficientScope, 'Insufficient scope', detail);
