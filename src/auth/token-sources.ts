import { BearerFault, readBearer } from './bearer.js';

/** Where a request's token was found (SPEC: a route's `tokenIn`). */
export type TokenSource = 'header' | 'query' | 'protocol';

/** The RFC 6750 §2.3 query parameter. */
const QUERY_NAME = 'access_token=';

/** The WebSocket subprotocol that carries a token: `tollgate.bearer.<secret>`. */
export const PROTOCOL_PREFIX = 'tollgate.bearer.';

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

/** Start and end of each `access_token=` parameter in a target's query. */
function queryParams(path: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const queryAt = path.indexOf('?');
  if (queryAt === -1) return out;
  let at = queryAt + 1;
  while (at <= path.length) {
    let end = path.indexOf('&', at);
    if (end === -1) end = path.length;
    if (path.startsWith(QUERY_NAME, at)) out.push([at, end]);
    at = end + 1;
  }
  return out;
}

function queryToken(path: string): Found | undefined {
  const params = queryParams(path);
  if (params.length === 0) return undefined;
  if (params.length > 1) return 'two_places';
  const [start, end] = params[0]!;
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
      if (!name.startsWith(PROTOCOL_PREFIX)) continue;
      if (found !== undefined) return 'two_places';
      const secret = name.slice(PROTOCOL_PREFIX.length);
      found = secret === '' ? BearerFault.Malformed : secret;
    }
  }
  return found;
}

/** The target without its `access_token` parameter (the upstream never sees the token). */
export function withoutQueryToken(path: string): string {
  const params = queryParams(path);
  if (params.length === 0) return path;
  const [start, end] = params[0]!;
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
    const rest = rawHeaders[i + 1]!
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '' && !item.startsWith(PROTOCOL_PREFIX));
    if (rest.length > 0) {
      rawHeaders[i + 1] = rest.join(', ');
    } else {
      rawHeaders.splice(i, 2);
      i -= 2;
    }
  }
}
