import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus `proxy-connection`, which clients still send. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Names listed in `Connection` are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (!value) return undefined;
  // The usual values name nothing beyond the hop-by-hop set: skip the split (every upstream
  // response carries one).
  const lower = value.length <= 10 ? value.toLowerCase() : '';
  if (lower === 'keep-alive' || lower === 'close') return undefined;
  const names = new Set<string>();
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

/** True for `x-tollgate-*` and its underscore twins (`x_tollgate_user`), which some servers merge. */
function isIdentityHeader(lowerName: string): boolean {
  if (lowerName.length < 11) return false;
  const head = lowerName.slice(0, 11);
  return head === 'x-tollgate-' || head.replace(/_/g, '-') === 'x-tollgate-';
}

export interface ForwardIdentity {
  tokenId: string;
  repository: string;
  user: string | null;
  right: string;
}

export interface UpstreamHeaderOptions {
  forwardAuthorization: boolean;
  requestId: string;
  remoteAddress: string | undefined;
  /** `https` when the client connection was TLS. */
  protocol: string;
  identity: ForwardIdentity | undefined;
}

/**
 * The header list sent upstream (SPEC §3.5), as a flat name/value array built in one pass over
 * the raw headers: hop-by-hop headers and those named in Connection dropped, Authorization
 * dropped unless configured, every incoming x-tollgate-* dropped, then identity and forwarding
 * headers added. `Expect` is dropped because Tollgate answered it already.
 */
export function upstreamHeaders(raw: readonly string[], connection: string | undefined, options: UpstreamHeaderOptions): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || isIdentityHeader(lower)) continue;
    const value = raw[i + 1]!;
    switch (lower) {
      case 'authorization':
        if (!options.forwardAuthorization) continue;
        break;
      case 'expect':
      case 'x-request-id':
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        forwardedProto ??= value;
        continue;
      case 'x-forwarded-host':
        forwardedHost ??= value;
        continue;
      case 'host':
        host ??= value;
        break;
    }
    out.push(name, value);
  }
  const client = options.remoteAddress ?? 'unknown';
  out.push('x-forwarded-for', forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  out.push('x-forwarded-proto', forwardedProto ?? options.protocol);
  if (forwardedHost !== undefined || host !== undefined) out.push('x-forwarded-host', (forwardedHost ?? host)!);
  out.push('x-request-id', options.requestId);
  const identity = options.identity;
  if (identity !== undefined) {
    out.push('x-tollgate-token-id', identity.tokenId, 'x-tollgate-repository', identity.repository, 'x-tollgate-right', identity.right);
    if (identity.user !== null) out.push('x-tollgate-user', identity.user);
  }
  return out;
}

/** The upstream's response headers as sent to the client: hop-by-hop ones removed. */
export function downstreamHeaders(headers: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  // A new object rather than `delete` on undici's: deleting turns an object into a slow dictionary.
  const named = connectionTokens(typeof headers.connection === 'string' ? headers.connection : undefined);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = headers[name];
  }
  out['x-request-id'] = requestId;
  return out;
}
