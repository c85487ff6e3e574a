import { BearerFault, readBearer } from './bearer.js';

/** Where a request's token was found (a route's `tokenIn`, docs/streams-and-protocols.md). */
export type TokenSource = 'header' | 'query' | 'protocol';

/** The RFC 6750 §2.3 query parameter. */
const QUERY_NAME = 'access_token=';

/** The WebSocket subprotocol that carries a token: `tollgate.bearer.<secret>`. */
const PROTOCOL_PREFIX = 'tollgate.bearer.';

const SUBPROTOCOL_FIELD = 'sec-websocket-protocol';

/** The sources a route accepts; the default is the header alone. */
export interface TokenSources {
  readonly header: boolean;
  readonly query: boolean;
  readonly protocol: boolean;
}

export const HEADER_ONLY: TokenSources = Object.freeze({ header: true, query: false, protocol: false });

/** A secret, or why there is none usable. */
export type Found = string | BearerFault | 'two_places';

/** Where the caller wants to know the place a secret was found in. */
export interface FoundIn {
  tokenSource?: TokenSource | undefined;
}

/**
 * Finds the token in the places the route accepts and notes the place in `into`. A place the
 * route does not accept is not read (an `access_token` parameter there is the upstream's
 * business). A token in two accepted places is refused: which one counts would be a guess an
 * attacker could steer. A header-only route (the common case) allocates nothing.
 */
export function findToken(path: string, rawHeaders: readonly string[], sources: TokenSources, into: FoundIn): Found {
  let found: Found = sources.header ? readBearer(rawHeaders) : BearerFault.Missing;
  if (typeof found === 'string') into.tokenSource = 'header';
  if (found === BearerFault.Duplicate || (!sources.query && !sources.protocol)) return found;
  for (const source of EXTRA_SOURCES) {
    if (!sources[source]) continue;
    const here = source === 'query' ? queryToken(path) : protocolToken(rawHeaders);
    if (here === undefined) continue;
    if (found !== BearerFault.Missing || here === 'two_places') return 'two_places';
    found = here;
    if (typeof here === 'string') into.tokenSource = source;
  }
  return found;
}

const EXTRA_SOURCES = ['query', 'protocol'] as const;

/** A query parameter that names the token: where it is, and whether it is spelled plainly. */
interface TokenParam {
  start: number;
  end: number;
  /** `access_token=` exactly, between `?`/`&` and `&`/the end: the one form Tollgate takes. */
  plain: boolean;
}

/**
 * Every parameter an upstream could read as `access_token`: the name percent-decoded, in any
 * case, with PHP-style `[]`, and with `;` as a separator as well as `&` (older form parsers).
 * Only the plain spelling is taken as a token; any other is refused, since Tollgate would remove
 * one spelling and forward another that the upstream reads as the token.
 */
function tokenParams(path: string): TokenParam[] {
  const out: TokenParam[] = [];
  const queryAt = path.indexOf('?');
  if (queryAt === -1) return out;
  // Cheap test first: every spelling holds `token` in some case, or a percent escape.
  const query = path.slice(queryAt + 1);
  if (!/token|%/i.test(query)) return out;
  let at = queryAt + 1;
  while (at <= path.length) {
    let end = at;
    while (end < path.length && path[end] !== '&' && path[end] !== ';') end++;
    const equals = path.indexOf('=', at);
    const nameEnd = equals === -1 || equals > end ? end : equals;
    if (readsAsTokenName(path.slice(at, nameEnd))) {
      const plain = path.startsWith(QUERY_NAME, at) && path[at - 1] !== ';' && path[end] !== ';';
      out.push({ start: at, end, plain });
    }
    at = end + 1;
  }
  return out;
}

function readsAsTokenName(name: string): boolean {
  let decoded = name;
  if (name.includes('%')) {
    try {
      decoded = decodeURIComponent(name);
    } catch {
      return false;
    }
  }
  return decoded.toLowerCase().replace(/(\[[^\]]*\])+$/, '') === 'access_token';
}

function queryToken(path: string): Found | undefined {
  const params = tokenParams(path);
  if (params.length === 0) return undefined;
  if (params.length > 1) return 'two_places';
  const { start, end, plain } = params[0]!;
  if (!plain) return BearerFault.Malformed;
  let secret: string;
  try {
    secret = decodeURIComponent(path.slice(start + QUERY_NAME.length, end).replace(/\+/g, ' '));
  } catch {
    return BearerFault.Malformed;
  }
  return secret === '' ? BearerFault.Malformed : secret;
}

function protocolToken(rawHeaders: readonly string[]): Found | undefined {
  let found: Found | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length !== SUBPROTOCOL_FIELD.length || rawHeaders[i]!.toLowerCase() !== SUBPROTOCOL_FIELD) continue;
    for (const item of rawHeaders[i + 1]!.split(',')) {
      const name = item.trim();
      if (!isProtocolToken(name)) continue;
      if (found !== undefined) return 'two_places';
      // Subprotocol names are case-sensitive (RFC 6455 §4.1); another case is refused, not taken.
      const secret = name.slice(PROTOCOL_PREFIX.length);
      found = secret === '' || !name.startsWith(PROTOCOL_PREFIX) ? BearerFault.Malformed : secret;
    }
  }
  return found;
}

const isProtocolToken = (name: string): boolean =>
  name.length >= PROTOCOL_PREFIX.length && name.slice(0, PROTOCOL_PREFIX.length).toLowerCase() === PROTOCOL_PREFIX;

/**
 * The target without its `access_token` parameter (the upstream never sees the token). Called
 * only once the plain parameter, and no other spelling, authorized the request.
 */
export function withoutQueryToken(path: string): string {
  const params = tokenParams(path);
  if (params.length === 0) return path;
  const { start, end } = params[0]!;
  // Drop the parameter and one separator next to it; an emptied query loses its `?` too.
  const before = path.slice(0, start - 1);
  const after = path.slice(end + 1);
  const separator = path[start - 1]!; // '?' or '&'
  if (after === '') return before;
  return separator === '?' ? `${before}?${after}` : `${before}&${after}`;
}

/**
 * Removes the token subprotocol from `Sec-WebSocket-Protocol`, in place; a field left empty is
 * removed. The other subprotocols pass on for the upstream to choose from.
 */
export function removeProtocolToken(rawHeaders: string[]): void {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length !== SUBPROTOCOL_FIELD.length || rawHeaders[i]!.toLowerCase() !== SUBPROTOCOL_FIELD) continue;
    const rest = rawHeaders[i + 1]!.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '' && !isProtocolToken(item));
    if (rest.length > 0) {
      rawHeaders[i + 1] = rest.join(', ');
    } else {
      rawHeaders.splice(i, 2);
      i -= 2;
    }
  }
}
