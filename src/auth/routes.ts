import type { RouteConfig } from '../config/schema.js';
import { NAME_PATTERN, type Right } from '../tokens/record.js';
import { HEADER_ONLY, type TokenSources } from './token-sources.js';

/** The default verb -> right map (docs/configuration.md); a route's own `methods` map is consulted first. */
const DEFAULT_RIGHTS: Readonly<Record<string, Right>> = {
  GET: 'query',
  HEAD: 'query',
  POST: 'stream',
  PUT: 'modify',
  PATCH: 'modify',
  DELETE: 'delete',
};

enum SegmentKind {
  Literal,
  Repository,
  Rest,
}

interface Segment {
  kind: SegmentKind;
  text: string;
}

export interface Route {
  readonly path: string;
  readonly isPublic: boolean;
  readonly segments: readonly Segment[];
  /** Method -> right: a Map, so a method name (on the decision port, any header value) is never a key that reaches Object.prototype. */
  readonly rights: ReadonlyMap<string, Right>;
  /** Where this route accepts the token from. */
  readonly tokenIn: TokenSources;
  /** Lower-case field naming the repository when the path has no `:repository`. */
  readonly repositoryHeader: string | undefined;
}

export interface RouteMatch {
  route: Route;
  /** The `:repository` path parameter, when the route has one. */
  repository: string | undefined;
}

function compile(config: RouteConfig): Route {
  const segments: Segment[] = config.path
    .split('/')
    .slice(1)
    .filter((text, i, all) => !(text === '' && i === all.length - 1 && all.length > 1))
    .map((text) => ({
      kind: text === ':repository' ? SegmentKind.Repository : text === '**' ? SegmentKind.Rest : SegmentKind.Literal,
      text,
    }));
  return {
    path: config.path,
    isPublic: config.public ?? false,
    segments,
    // A Map rather than an object without prototype, which is a dictionary-mode object: each
    // request's lookup was a megamorphic keyed load.
    rights: new Map(Object.entries({ ...DEFAULT_RIGHTS, ...config.methods })),
    tokenIn:
      config.tokenIn === undefined
        ? HEADER_ONLY
        : { header: config.tokenIn.includes('header'), query: config.tokenIn.includes('query'), protocol: config.tokenIn.includes('protocol') },
    repositoryHeader: config.repositoryHeader,
  };
}

/** The literal segments routes have at one position: as written, and in canonical form. */
interface LiteralsAt {
  readonly written: ReadonlySet<string>;
  readonly canonical: ReadonlySet<string>;
  /** Some literal here is not in canonical form (`API`): a plain `api` must be checked too. */
  isAnyFolded: boolean;
}

/** Matches request paths against the configured routes; first match wins, no match is a deny. */
export class RouteTable {
  private readonly routes: Route[];
  /** Per segment position, the literals some route has there (undefined: none has one). */
  private readonly literals: (LiteralsAt | undefined)[] = [];
  /** The last segment position any route reads (a literal or `:repository`); -1 for none. */
  private readonly lastRead: number;
  /**
   * Request fields some route reads for its decision (each `repositoryHeader`), lower-case. They
   * are guarded like Tollgate's own fields: an underscore twin is refused, and no `Connection`
   * option removes one on its way upstream (proxy/headers.ts).
   */
  readonly decisionFields: ReadonlySet<string>;

  constructor(configs: readonly RouteConfig[]) {
    this.routes = configs.map(compile);
    this.decisionFields = new Set(this.routes.flatMap((route) => (route.repositoryHeader === undefined ? [] : [route.repositoryHeader])));
    let lastRead = -1;
    for (const route of this.routes) {
      route.segments.forEach((segment, at) => {
        if (segment.kind === SegmentKind.Rest) return;
        lastRead = Math.max(lastRead, at);
        if (segment.kind !== SegmentKind.Literal || segment.text === '') return;
        this.literals[at] ??= { written: new Set(), canonical: new Set(), isAnyFolded: false };
        const literals = this.literals[at];
        const canonical = canonicalSegment(segment.text);
        (literals.written as Set<string>).add(segment.text);
        (literals.canonical as Set<string>).add(canonical);
        if (canonical !== segment.text) literals.isAnyFolded = true;
      });
    }
    this.lastRead = lastRead;
  }

  /**
   * True when the path (checked by `checkTarget`) spells a route's literal segment another way:
   * a segment whose canonical form (see `canonicalSegment`) is a literal some route has at that
   * position while the segment as sent is none of them (`STREAM`, `%73tream`, `stream;v=1`,
   * `stream.`); or, up to one position past the last a route reads, an empty segment (`//`, or
   * `;v=1` and `%20`, empty once cut or trimmed) other than one trailing slash, which
   * slash-merging servers (nginx's default, Tomcat) remove, moving every later segment. Servers
   * that fold case, decode, strip `;` parameters or merge slashes would route such a path to
   * another route than the byte-for-byte match here. Allocates nothing unless a segment in those
   * positions holds an upper-case letter, `%` or `;`, or one where a literal stands ends in `.`.
   */
  isAmbiguous(path: string): boolean {
    const lastRead = this.lastRead;
    const queryAt = path.indexOf('?');
    const end = queryAt === -1 ? path.length : queryAt;
    let position = 0;
    let start = 1;
    let isPlain = true;
    // One position past the last read: a route matches one trailing slash, so `stream//` and
    // `events/;x` count.
    for (let i = 1; i <= end && position <= lastRead + 1; i++) {
      const c = i === end ? 47 : path.charCodeAt(i);
      if (c === 47 /* / */) {
        if (i === start) {
          // An empty segment that is not the one trailing slash shifts what follows it.
          if (i !== end) return true;
        } else {
          const literals = this.literals[position];
          if (!isPlain || (literals !== undefined && (literals.isAnyFolded || path.charCodeAt(i - 1) === 46)) /* . */) {
            const written = path.slice(start, i);
            const canonical = canonicalSegment(written);
            // `;v=1` or `%20` is an empty segment to servers that strip parameters or trim: merged.
            if (canonical === '' && !isPlain) return true;
            if (literals !== undefined && !literals.written.has(written) && literals.canonical.has(canonical)) return true;
          }
        }
        position++;
        start = i + 1;
        isPlain = true;
      } else if ((c >= 65 && c <= 90) || c === 37 /* % */ || c === 59 /* ; */) {
        isPlain = false;
      }
    }
    return false;
  }

  /** Finds the first route matching `path` (which may carry a query, ignored here). */
  match(path: string): RouteMatch | undefined {
    const queryAt = path.indexOf('?');
    const end = queryAt === -1 ? path.length : queryAt;
    for (const route of this.routes) {
      const repository = matchRoute(route, path, end);
      if (repository !== false) return { route, repository };
    }
    return undefined;
  }
}

/**
 * The right a request needs on a route, or undefined when its method is not allowed there. A
 * WebSocket upgrade needs the route's `WEBSOCKET` entry, else its GET right; as a method,
 * `WEBSOCKET` is nothing.
 */
export function rightFor(route: Route, method: string, isUpgrade = false): Right | undefined {
  if (isUpgrade) return route.rights.get('WEBSOCKET') ?? route.rights.get('GET');
  return method === 'WEBSOCKET' ? undefined : route.rights.get(method);
}

/** Returns false for no match, else the repository parameter (or undefined when there is none). */
function matchRoute(route: Route, path: string, end: number): string | undefined | false {
  let repository: string | undefined;
  let at = 1; // after the leading "/"
  const segments = route.segments;
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s]!;
    if (segment.kind === SegmentKind.Rest) return repository;
    if (at > end) return false;
    let next = path.indexOf('/', at);
    if (next === -1 || next > end) next = end;
    if (segment.kind === SegmentKind.Literal) {
      if (next - at !== segment.text.length || !path.startsWith(segment.text, at)) return false;
    } else {
      if (!isName(path, at, next)) return false;
      repository = path.slice(at, next);
    }
    at = next + 1;
  }
  // Every pattern segment used: the path must be used up too (one trailing slash is allowed).
  return at >= end ? repository : false;
}

/**
 * NAME_PATTERN (`^[a-z0-9][a-z0-9._-]{0,62}$`) on `text[start, end)`, read in place: a route's
 * `:repository` is checked on every request, and a path segment that is no name makes no string.
 */
function isName(text: string, start: number, end: number): boolean {
  if (end <= start || end - start > 63) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) continue;
    if (i === start || (c !== 46 && c !== 95 && c !== 45)) return false; // . _ -
  }
  return true;
}

/**
 * True when a field other than `name` (lower-case) is `name` with `_` for some `-`
 * (`X_Repository` for `x-repository`): CGI, WSGI and PHP read both as one variable
 * (`HTTP_X_REPOSITORY`, RFC 3875 §4.1.18), so the upstream could read a value Tollgate did not
 * judge. Allocates only for a field of the same length holding `_`.
 */
export function hasUnderscoreTwin(name: string, rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const field = rawHeaders[i]!;
    if (field.length === name.length && field.indexOf('_') !== -1 && field.toLowerCase().replace(/_/g, '-') === name) return true;
  }
  return false;
}

/**
 * The repository a request names in the route's `repositoryHeader` field: undefined when the
 * route has none or the request sent none (the token's own repository is meant), `false` when
 * the value is not a repository name (or the field came twice), so it can match no grant.
 */
export function repositoryFromHeader(route: Route, rawHeaders: readonly string[]): string | undefined | false {
  const name = route.repositoryHeader;
  if (name === undefined) return undefined;
  let found: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const field = rawHeaders[i]!;
    if (field.length !== name.length || field.toLowerCase() !== name) continue;
    if (found !== undefined) return false;
    found = rawHeaders[i + 1]!;
  }
  if (found === undefined) return undefined;
  return NAME_PATTERN.test(found) ? found : false;
}

/**
 * A segment as the most forgiving upstreams read it: percent-decoded (RFC 3986 §6.2.2.2, and
 * servers that decode every byte), NFKC-normalized (`ｓｔｒｅａｍ`), cut at its first `;`
 * (Tomcat and Spring strip path parameters), trimmed of whitespace and of final dots (IIS drops
 * them), then case-folded both ways, as Java's `equalsIgnoreCase` compares (`ſ`, `ı`, `K` are
 * `s`, `i`, `k` to it). Only for segments of a path `checkTarget` passed.
 */
export function canonicalSegment(segment: string): string {
  let text = segment;
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      // Not UTF-8: checkTarget refuses such a path; read it as it stands.
    }
  }
  text = text.normalize('NFKC');
  const cut = text.indexOf(';');
  if (cut !== -1) text = text.slice(0, cut);
  text = text.trim().replace(/\.+$/, '');
  return text
    .toUpperCase()
    .toLowerCase()
    .replace(/\u0307/g, '');
}
