import type { ForwardIdentity } from '../auth/verdict.js';

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

/**
 * Fields a `Connection` option may not remove. RFC 9110 §7.6.1 says a sender must not name a
 * field meant for every recipient, but says nothing of what a proxy does when one is named; taken
 * literally, `Connection: host` strips Host, so the upstream sees its own address and no
 * X-Forwarded-Host, and a client behind a front proxy could strip the X-Forwarded-For it added.
 * Envoy refuses a request whose Connection names X-Forwarded-* (envoyproxy/envoy#8862); nginx does
 * not act on Connection options at all. We ignore such an option and keep the field: Host and the
 * body's framing and type (they describe the message, not the hop), and every field Tollgate
 * writes or appends to itself. Refusing would also be safe, but breaks clients that send a
 * harmless over-broad list. `x-tollgate-*` need no entry: they are dropped and re-added anyway.
 */
const END_TO_END = new Set([
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'x-request-id',
]);

/**
 * Names listed in `Connection` are hop-by-hop too (RFC 9110 §7.6.1), except the END_TO_END ones
 * and the `guarded` fields a route read for its decision: stripping one after it was judged would
 * let the upstream act on a default instead.
 */
function connectionTokens(value: string | undefined, guarded?: ReadonlySet<string>): Set<string> | undefined {
  if (!value) return undefined;
  // The usual values name nothing beyond the hop-by-hop set: skip the split (every upstream
  // response carries one).
  const lower = value.length <= 10 ? value.toLowerCase() : '';
  if (lower === 'keep-alive' || lower === 'close') return undefined;
  const names = new Set<string>();
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name && !END_TO_END.has(name) && guarded?.has(name) !== true) names.add(name);
  }
  return names;
}

/**
 * Headers that tell a server to act on another method or target than the request line's: Express
 * method-override, Symfony, Laravel and Google APIs read `X-HTTP-Method-Override`; OData
 * `X-HTTP-Method`; IIS URL Rewrite, Symfony and Zend `X-Original-URL`/`X-Rewrite-URL`; auth-proxy
 * setups (nginx auth_request, Traefik forwardAuth, our own decision port) `X-Original-Method`,
 * `X-Forwarded-Method`, `X-Original-URI`, `X-Forwarded-Uri`. Tollgate authorizes the request line,
 * so a request that carried one of these could do what its token does not allow. They are always
 * dropped: no route option keeps them, since a client that needs one can send the real method.
 */
const OVERRIDES = new Set([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-method',
  'x-forwarded-method',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-forwarded-uri',
]);

/** Every request header dropped by name alone: one lookup per field on the hot path. */
const DROPPED_UPSTREAM = new Set([...HOP_BY_HOP, ...OVERRIDES, 'expect']);

/**
 * True for `x_http_method_override`, `x_forwarded_for` and other twins of a field Tollgate drops,
 * sets or appends to. CGI-style servers (PHP, some WSGI and Rack setups) read `-` and `_` as the
 * same variable, so a twin would bypass the drop or shadow the value Tollgate set. Called only for
 * names holding `_`, which ordinary headers do not.
 */
function isTwinOfManagedField(lowerName: string, guarded?: ReadonlySet<string>): boolean {
  const dashed = lowerName.replace(/_/g, '-');
  return DROPPED_UPSTREAM.has(dashed) || END_TO_END.has(dashed) || dashed.startsWith('x-tollgate-') || guarded?.has(dashed) === true;
}

/** `token` of RFC 9110 §5.6.2: a Forwarded parameter value that needs no quotes (RFC 7239 §4). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A Forwarded parameter value, quoted when it is not a token (an IPv6 address is bracketed too). */
function forwardedValue(value: string, isAddress: boolean): string {
  if (isAddress && value.includes(':')) value = `[${value}]`;
  return TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export interface UpstreamHeaderOptions {
  forwardAuthorization: boolean;
  requestId: string;
  remoteAddress: string | undefined;
  /** `https` when the client connection was TLS. */
  protocol: string;
  identity: ForwardIdentity | undefined;
  /**
   * Fields a route reads for its decision (`repositoryHeader`): no Connection option removes one,
   * and an underscore twin is dropped (the decision step refuses a request that has one).
   */
  guarded?: ReadonlySet<string>;
}

/**
 * The header list sent upstream (docs/data-plane.md), as a flat name/value array built in one pass over
 * the raw headers: hop-by-hop headers and those named in Connection dropped, Authorization
 * dropped unless configured, every incoming x-tollgate-* dropped, then identity and forwarding
 * headers added. `Expect` is dropped because Tollgate answered it already; method and URL
 * override headers (OVERRIDES) and underscore twins of managed fields are dropped; an incoming
 * `Forwarded` gets this hop's element appended.
 */
export function upstreamHeaders(raw: readonly string[], connection: string | undefined, options: UpstreamHeaderOptions): string[] {
  const guarded = options.guarded;
  const named = connectionTokens(connection, guarded);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  let forwarded: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (DROPPED_UPSTREAM.has(lower) || named?.has(lower)) continue;
    if (lower.indexOf('_') === -1 ? lower.startsWith('x-tollgate-') : isTwinOfManagedField(lower, guarded)) continue;
    const value = raw[i + 1]!;
    switch (lower) {
      case 'authorization':
        if (!options.forwardAuthorization) continue;
        break;
      case 'x-request-id':
        continue;
      case 'forwarded':
        forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
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
  if (forwarded !== undefined) {
    // RFC 7239 §4: each proxy appends its own element. Passing the client's value alone would let
    // it pose as this hop to an upstream that reads Forwarded rather than X-Forwarded-For. Only
    // added when one came in, so the common request builds no extra string.
    let element = `for=${forwardedValue(client, true)};proto=${options.protocol}`;
    if (host !== undefined) element += `;host=${forwardedValue(host, false)}`;
    out.push('forwarded', `${forwarded}, ${element}`);
  }
  out.push('x-request-id', options.requestId);
  const identity = options.identity;
  if (identity !== undefined) {
    out.push('x-tollgate-token-id', identity.tokenId, 'x-tollgate-repository', identity.repository, 'x-tollgate-right', identity.right);
    if (identity.user !== null) out.push('x-tollgate-user', identity.user);
  }
  return out;
}

/**
 * The upstream's response header lines as sent to the client, one string: hop-by-hop fields and
 * those named in its Connection removed, its `x-request-id` replaced by ours. Framing
 * (Content-Length, Transfer-Encoding) is the caller's: Content-Length passes, Transfer-Encoding
 * is hop-by-hop and re-added when the body is re-framed. `hasDate` says whether a Date came.
 * `queryToken`: the request was authorized by an `access_token` parameter, so the response must
 * not be cached and the page must not leak its URL as a Referer.
 */
export function downstreamHeaderLines(raw: readonly string[], requestId: string, queryToken = false): { lines: string; hasDate: boolean } {
  // One pass in the common case: a Connection that names only hop-by-hop options (keep-alive,
  // close) removes nothing more; one that names other fields has the lines built again without them.
  let kept = keptLines(raw, undefined, queryToken);
  const named = connectionTokens(kept.connection);
  if (named !== undefined && named.size > 0) kept = keptLines(raw, named, queryToken);
  kept.lines += `x-request-id: ${requestId}\r\n`;
  // A token in the URL must not be kept by a cache or sent on as a Referer (RFC 6750 §2.3, §5.3).
  if (queryToken) kept.lines += 'cache-control: no-store\r\nreferrer-policy: no-referrer\r\n';
  return kept;
}

/** The response's header lines without hop-by-hop fields, those `named` by Connection, and x-request-id; and its Connection value. */
function keptLines(
  raw: readonly string[],
  named: ReadonlySet<string> | undefined,
  queryToken: boolean,
): { lines: string; hasDate: boolean; connection: string | undefined } {
  let connection: string | undefined;
  let lines = '';
  let hasDate = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === 'connection') connection = connection === undefined ? raw[i + 1] : `${connection}, ${raw[i + 1]}`;
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || lower === 'x-request-id') continue;
    if (queryToken && (lower === 'cache-control' || lower === 'referrer-policy')) continue;
    if (lower === 'date') hasDate = true;
    lines += `${name}: ${raw[i + 1]}\r\n`;
  }
  return { lines, hasDate, connection };
}
