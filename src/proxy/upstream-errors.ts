import { PROBLEMS } from '../http/problems.js';

/** How an upstream failure is reported: docs/data-plane.md status and the `reason` metric label. */
export interface UpstreamFailure {
  status: 502 | 504;
  reason: 'refused' | 'reset' | 'timeout' | 'other';
  type: string;
  title: string;
}

const TIMEOUT: UpstreamFailure = { ...PROBLEMS.upstream_timeout, reason: 'timeout' };
const REFUSED: UpstreamFailure = { ...PROBLEMS.upstream_unreachable, reason: 'refused' };
const RESET: UpstreamFailure = { ...PROBLEMS.upstream_reset, reason: 'reset' };
const OTHER: UpstreamFailure = { ...PROBLEMS.upstream_error, reason: 'other' };

/** Sorts an undici or socket error into the status the client gets. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = (err as { code?: string } | undefined)?.code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return TIMEOUT;
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return REFUSED;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return RESET;
    default:
      return OTHER;
  }
}
