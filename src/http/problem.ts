import type { ServerResponse } from 'node:http';

/** An RFC 9457 problem, as our error responses carry it. */
export interface Problem {
  status: number;
  /** Stable relative URI, e.g. `/problems/invalid-token` (listed in docs/reference/problems.md). */
  type: string;
  title: string;
  detail: string;
  /** Extra members, such as the field at fault. */
  [member: string]: unknown;
}

/**
 * Sends a problem+json response. Bodies are built only from fixed texts, field names and the
 * request id, never from a header value, so a secret can never be echoed back.
 */
export function sendProblem(res: ServerResponse, problem: Problem, requestId: string, headers?: Record<string, string>): void {
  const body = JSON.stringify({ ...problem, requestId });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = problem.status;
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-request-id', requestId);
  if (headers) for (const name in headers) res.setHeader(name, headers[name]!);
  res.end(body);
}
