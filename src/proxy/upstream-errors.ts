/** How an upstream failure is reported: SPEC §3.6 status and the `reason` metric label. */
export interface UpstreamFailure {
  status: 502 | 504;
  reason: 'refused' | 'reset' | 'timeout' | 'other';
  type: string;
  title: string;
}

const TIMEOUT: UpstreamFailure = {
  status: 504,
  reason: 'timeout',
  type: '/problems/upstream-timeout',
  title: 'Upstream timed out',
};
const REFUSED: UpstreamFailure = {
  status: 502,
  reason: 'refused',
  type: '/problems/upstream-unreachable',
  title: 'Upstream refused the connection',
};
const RESET: UpstreamFailure = {
  status: 502,
  reason: 'reset',
  type: '/problems/upstream-reset',
  title: 'Upstream closed the connection',
};
const OTHER: UpstreamFailure = {
  status: 502,
  reason: 'other',
  type: '/problems/upstream-error',
  title: 'Upstream failed',
};

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
