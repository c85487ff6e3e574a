import type { Problem } from '../http/problem.js';

/** An admin API refusal with its status and stable problem type; the message is the `detail`. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'AdminError';
  }

  toProblem(): Problem {
    return { status: this.status, type: this.type, title: this.title, detail: this.message, ...this.extra };
  }
}

export interface FieldFault {
  field: string;
  message: string;
}

export const invalidRequest = (faults: FieldFault[]): AdminError =>
  new AdminError(400, '/problems/invalid-request', 'Invalid request', faults.map((f) => `${f.field}: ${f.message}`).join('; '), {
    errors: faults,
  });

export const notFound = (what: string): AdminError => new AdminError(404, '/problems/not-found', 'Not found', `${what} does not exist`);

export const conflict = (detail: string): AdminError => new AdminError(409, '/problems/conflict', 'Conflict', detail);

export const forbidden = (detail: string): AdminError =>
  new AdminError(403, '/problems/insufficient-scope', 'Insufficient scope', detail);
