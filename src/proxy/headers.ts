import type { ForwardIdentity } from '../auth/verdict.js';
import type { HeadSpans } from '../http1/head-spans.js';

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

// The same response lines made from the bytes of the read that carried the head (HeadSpans), for
// the common head: no string per field, kept fields copied as they came. The rules are the ones
// above, looked up by the name's length and bytes.

/** What a response field is to the client. */
const KEEP = 0;
const DROP = 1;
const DATE = 2;
const CONTENT_LENGTH = 3;
const TRANSFER_ENCODING = 4;
const CONNECTION = 5;
/** cache-control and referrer-policy: replaced on a response to a query-token request. */
const QUERY_TOKEN_REPLACED = 6;

interface Rule {
  /** Lower-case ASCII letters and `-`. */
  readonly name: string;
  readonly kind: number;
}

/** Per name length (up to the longest), the names with a rule. */
const RULES_BY_LENGTH: (Rule[] | undefined)[] = [];
for (const rule of [
  ...[...HOP_BY_HOP].map((name) => ({ name, kind: name === 'connection' ? CONNECTION : name === 'transfer-encoding' ? TRANSFER_ENCODING : DROP })),
  { name: 'x-request-id', kind: DROP },
  { name: 'date', kind: DATE },
  { name: 'content-length', kind: CONTENT_LENGTH },
  { name: 'cache-control', kind: QUERY_TOKEN_REPLACED },
  { name: 'referrer-policy', kind: QUERY_TOKEN_REPLACED },
]) {
  // The byte compare below folds case by setting bit 0x20, which is exact for these characters only.
  if (!/^[a-z-]+$/.test(rule.name)) throw new Error(`response field rule ${rule.name}: not lower-case letters and -`);
  while (RULES_BY_LENGTH.length <= rule.name.length) RULES_BY_LENGTH.push(undefined);
  const rules = RULES_BY_LENGTH[rule.name.length] ?? [];
  rules.push(rule);
  RULES_BY_LENGTH[rule.name.length] = rules;
}

/**
 * The kind of the field named by `chunk[start, end)`. Names are tokens (llhttp checked), so
 * `| 0x20` folds A-Z to a-z and maps no other token character onto a letter or `-`.
 */
function fieldKind(chunk: Buffer, start: number, end: number): number {
  const length = end - start;
  if (length >= RULES_BY_LENGTH.length) return KEEP;
  const rules = RULES_BY_LENGTH[length];
  if (rules === undefined) return KEEP;
  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r]!;
    const name = rule.name;
    let i = 0;
    while (i < length && (chunk[start + i]! | 0x20) === name.charCodeAt(i)) i++;
    if (i === length) return rule.kind;
  }
  return KEEP;
}

/** Whether `chunk[start, end)` is `keep-alive` or `close` in any case: a Connection that names no other field. */
function namesNoField(chunk: Buffer, start: number, end: number): boolean {
  const word = end - start === 10 ? 'keep-alive' : end - start === 5 ? 'close' : undefined;
  if (word === undefined) return false;
  for (let i = 0; i < word.length; i++) if ((chunk[start + i]! | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/** A value's end without its trailing spaces and tabs (llhttp has skipped the leading ones). */
function trimmedEnd(chunk: Buffer, start: number, end: number): number {
  while (end > start && (chunk[end - 1] === 0x20 || chunk[end - 1] === 0x09)) end--;
  return end;
}

/** Per field of the head classified last: 0 dropped, 1 copied with the lines around it, 2 written as name, `: `, value. */
let lineForms = new Uint8Array(64);

/** What `responseFieldsOf` found; one object, valid until its next call. */
export interface SpannedResponse {
  /** The bytes the kept lines take (with the x-request-id and query-token lines). */
  bytes: number;
  hasDate: boolean;
  /** How the upstream framed the body, as `framingOf` reads it from strings. */
  framing: 'length' | 'chunked' | 'close';
}
const found: SpannedResponse = { bytes: 0, hasDate: false, framing: 'close' };

const QUERY_TOKEN_LINES = 'cache-control: no-store\r\nreferrer-policy: no-referrer\r\n';

/**
 * Classifies a response head held as spans for `writeResponseFields`, with the rules of
 * `downstreamHeaderLines`; undefined when the head is not the common kind, which strings then
 * handle: a kept value with a byte outside ASCII (obs-text, which the string path writes as UTF-8), or a
 * Connection other than one `keep-alive` or `close` (it may name fields to drop).
 */
export function responseFieldsOf(spans: HeadSpans, requestId: string, queryToken: boolean): SpannedResponse | undefined {
  const chunk = spans.chunk;
  const count = spans.count;
  const at = spans.at;
  let bytes = 14 + requestId.length + 2 + (queryToken ? QUERY_TOKEN_LINES.length : 0); // `x-request-id: ${id}\r\n`
  let hasDate = false;
  let hasLength = false;
  let isChunked = false;
  let connections = 0;
  if (chunk !== undefined && count > 0) {
    if (lineForms.length < count) lineForms = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const nameStart = at[i * 4]!;
      const nameEnd = at[i * 4 + 1]!;
      const valueStart = at[i * 4 + 2]!;
      const valueEnd = at[i * 4 + 3]!;
      let kind = fieldKind(chunk, nameStart, nameEnd);
      if (kind === QUERY_TOKEN_REPLACED) kind = queryToken ? DROP : KEEP;
      if (kind === CONNECTION) {
        const end = trimmedEnd(chunk, valueStart, valueEnd);
        if (++connections > 1 || (end > valueStart && !namesNoField(chunk, valueStart, end))) return undefined;
      }
      if (kind === DROP || kind === CONNECTION || kind === TRANSFER_ENCODING) {
        if (kind === TRANSFER_ENCODING) isChunked = true;
        lineForms[i] = 0;
        continue;
      }
      if (kind === DATE) hasDate = true;
      else if (kind === CONTENT_LENGTH) hasLength = true;
      const end = trimmedEnd(chunk, valueStart, valueEnd);
      // Names are tokens; a value may hold obs-text, which the string path sends UTF-8 encoded.
      let bits = 0;
      for (let j = valueStart; j < end; j++) bits |= chunk[j]!;
      if (bits > 0x7f) return undefined;
      // As it came: `name: value` and CRLF, nothing trimmed; then it is copied with its neighbours.
      const isAsSent = valueStart === nameEnd + 2 && chunk[nameEnd + 1] === 0x20 && end === valueEnd && chunk[valueEnd] === 0x0d;
      lineForms[i] = isAsSent ? 1 : 2;
      bytes += nameEnd - nameStart + 2 + (end - valueStart) + 2;
    }
  }
  found.bytes = bytes;
  found.hasDate = hasDate;
  found.framing = isChunked ? 'chunked' : hasLength ? 'length' : 'close';
  return found;
}

/**
 * Writes the lines `responseFieldsOf` classified into `out` at `offset`, as `downstreamHeaderLines`
 * makes them: kept fields (runs of lines as sent in one copy), then x-request-id and the
 * query-token lines. Returns the offset after them.
 */
export function writeResponseFields(spans: HeadSpans, requestId: string, queryToken: boolean, out: Buffer, offset: number): number {
  const chunk = spans.chunk;
  const at = spans.at;
  let pos = offset;
  if (chunk !== undefined) {
    let runStart = 0;
    let runEnd = -1;
    for (let i = 0; i < spans.count; i++) {
      const form = lineForms[i];
      if (form === 0) continue;
      const nameStart = at[i * 4]!;
      if (form === 1) {
        const lineEnd = at[i * 4 + 3]! + 2;
        if (runEnd === nameStart) runEnd = lineEnd;
        else {
          if (runEnd !== -1) pos += chunk.copy(out, pos, runStart, runEnd);
          runStart = nameStart;
          runEnd = lineEnd;
        }
        continue;
      }
      if (runEnd !== -1) pos += chunk.copy(out, pos, runStart, runEnd);
      runEnd = -1;
      const nameEnd = at[i * 4 + 1]!;
      const valueStart = at[i * 4 + 2]!;
      pos += chunk.copy(out, pos, nameStart, nameEnd);
      out[pos++] = 0x3a; // :
      out[pos++] = 0x20;
      pos += chunk.copy(out, pos, valueStart, trimmedEnd(chunk, valueStart, at[i * 4 + 3]!));
      out[pos++] = 0x0d;
      out[pos++] = 0x0a;
    }
    if (runEnd !== -1) pos += chunk.copy(out, pos, runStart, runEnd);
  }
  pos += out.write('x-request-id: ', pos, 'latin1');
  pos += out.write(requestId, pos, 'latin1');
  out[pos++] = 0x0d;
  out[pos++] = 0x0a;
  if (queryToken) pos += out.write(QUERY_TOKEN_LINES, pos, 'latin1');
  return pos;
}
