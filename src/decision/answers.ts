import type { ForwardIdentity } from '../auth/verdict.js';

/** The identity headers an allowed answer carries, in the order the proxy port sends them upstream. */
const IDENTITY_FIELDS = ['x-tollgate-token-id', 'x-tollgate-repository', 'x-tollgate-user', 'x-tollgate-right'] as const;

/**
 * Envoy's ext_authz HTTP service removes the request headers named in this response field
 * before forwarding (its `headers_to_remove`). `allowed_upstream_headers` only overrides what the
 * answer carries, so a client's own `x-tollgate-user` would reach the upstream beside a
 * repository token's answer (which has no user) unless it is named here. Other proxies ignore it.
 */
const ENVOY_REMOVE = 'x-envoy-auth-headers-to-remove';

/**
 * The header lines (each ending in CRLF) of an allowed answer: the request id, who the request
 * runs as, and for Envoy what to take off the client's request. `dropAuthorization` mirrors the
 * proxy port, which does not forward Authorization unless `proxy.forwardAuthorization` is set.
 */
export function allowedFields(requestId: string, identity: ForwardIdentity | undefined, dropAuthorization: boolean): string {
  let lines = `x-request-id: ${requestId}\r\n`;
  // Absent identity fields are removed too: on a public route none is sent, and the upstream
  // must not take a client's for Tollgate's.
  let remove = dropAuthorization ? 'authorization' : '';
  if (identity === undefined) {
    for (const name of IDENTITY_FIELDS) remove = remove === '' ? name : `${remove}, ${name}`;
  } else {
    lines += `x-tollgate-token-id: ${identity.tokenId}\r\nx-tollgate-repository: ${identity.repository}\r\n`;
    if (identity.user !== null) lines += `x-tollgate-user: ${identity.user}\r\n`;
    else remove = remove === '' ? 'x-tollgate-user' : `${remove}, x-tollgate-user`;
    lines += `x-tollgate-right: ${identity.right}\r\n`;
  }
  if (remove !== '') lines += `${ENVOY_REMOVE}: ${remove}\r\n`;
  return lines;
}
