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

const enum SegmentKind {
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
  readonly rights: Readonly<Record<string, Right>>;
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
    // No prototype: a method name (on the decision port, any header value) is never a key
    // that reaches Object.prototype ("constructor", "__proto__").
    rights: Object.assign(Object.create(null) as Record<string, Right>, DEFAULT_RIGHTS, config.methods),
    tokenIn:
      config.tokenIn === undefined
        ? HEADER_ONLY
        : { header: config.tokenIn.includes('header'), query: config.tokenIn.includes('query'), protocol: config.tokenIn.includes('protocol') },
    repositoryHeader: config.repositoryHeader,
  };
}

/** Matches request paths against the configured routes; first match wins, no match is a deny. */
export class RouteTable {
  private readonly routes: Route[];

  constructor(configs: readonly RouteConfig[]) {
    this.routes = configs.map(compile);
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
  if (isUpgrade) return route.rights.WEBSOCKET ?? route.rights.GET;
  return method === 'WEBSOCKET' ? undefined : route.rights[method];
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
      const value = path.slice(at, next);
      if (!NAME_PATTERN.test(value)) return false;
      repository = value;
    }
    at = next + 1;
  }
  // Every pattern segment used: the path must be used up too (one trailing slash is allowed).
  return at >= end ? repository : false;
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
