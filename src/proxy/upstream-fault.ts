import { PROBLEMS } from '../http/problems.js';

/** The `reason` label of upstream_errors_total (docs/reference/metrics.md), and what the client is told. */
export type UpstreamFaultReason = 'refused' | 'reset' | 'timeout' | 'other';

/** The status and problem each reason answers with (docs/data-plane.md). */
const ANSWERS = {
  timeout: PROBLEMS.upstream_timeout,
  refused: PROBLEMS.upstream_unreachable,
  reset: PROBLEMS.upstream_reset,
  other: PROBLEMS.upstream_error,
} as const satisfies Record<UpstreamFaultReason, { status: number; type: string; title: string }>;

/**
 * A fault of the upstream, made where it is seen (a deadline passed, the socket failed, the
 * response broke HTTP/1.1), so nothing downstream reads error codes or message text to learn
 * what happened. `retryable`: the fault says nothing against sending the request once more on a
 * fresh socket (a timeout does: the upstream may be working on it); whether the request itself
 * may go again is the exchange's to say (retryOnce).
 */
export class UpstreamFault extends Error {
  readonly status: 502 | 504;
  readonly type: string;
  readonly title: string;

  constructor(
    readonly reason: UpstreamFaultReason,
    readonly retryable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamFault';
    const answer = ANSWERS[reason];
    this.status = answer.status as 502 | 504;
    this.type = answer.type;
    this.title = answer.title;
  }
}

/** A deadline of the upstream passed (`proxy.timeouts.*`): connect, response head, or silence mid-exchange. */
export function upstreamTimeout(what: 'connect' | 'headers' | 'body'): UpstreamFault {
  return new UpstreamFault('timeout', false, `upstream ${what} timed out`);
}

/** The upstream's bytes are not an answer Tollgate may pass on. */
export function invalidResponse(why: string): UpstreamFault {
  return new UpstreamFault('other', true, `upstream response is not valid HTTP/1.1: ${why}`);
}

/** The upstream closed the socket before its answer ended, without a socket error. */
export function upstreamClosed(): UpstreamFault {
  return new UpstreamFault('reset', true, 'upstream closed the connection');
}

/** The pool was closed (shutdown, or replaced by a reload) while the request waited for a socket. */
export function poolClosed(): UpstreamFault {
  return new UpstreamFault('reset', false, 'upstream pool closed');
}

/**
 * A socket error as the fault it is: the system error codes Node's `net`, `tls` and `dns` report
 * (libuv's errno names), kept as the cause.
 */
export function socketFault(err: unknown): UpstreamFault {
  if (err instanceof UpstreamFault) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : 'upstream socket failed';
  switch (code) {
    case 'ETIMEDOUT':
      // The kernel gave up on a socket (keep-alive probes on a reused one): unlike a deadline of
      // ours, nothing says the upstream holds this request, so a fresh socket may carry it.
      return new UpstreamFault('timeout', true, message, { cause: err });
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UpstreamFault('refused', true, message, { cause: err });
    case 'ECONNRESET':
    case 'EPIPE':
      return new UpstreamFault('reset', true, message, { cause: err });
    default:
      return new UpstreamFault('other', true, message, { cause: err });
  }
}
