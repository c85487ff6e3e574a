import type { Clock } from '../clock.js';
import type { RightLabel } from '../metrics/metrics.js';
import type { Right } from '../tokens/record.js';
import { authenticate, type Authentication } from './authenticate.js';
import { authorize } from './authorize.js';
import type { DenyReason } from './decision.js';
import type { LastUsedRecorder, UseSource } from './last-used.js';
import { checkTarget } from './paths.js';
import { repositoryFromHeader, rightFor, type RouteMatch, type RouteTable } from './routes.js';
import type { TokenCache } from './token-cache.js';

/** Longest request target accepted (RFC 9112 §3 recommends supporting at least 8000 octets). */
export const MAX_TARGET_LENGTH = 8192;

/** Most header fields accepted; beyond, 431 with its problem body. */
export const MAX_HEADER_FIELDS = 200;

/** Who an allowed request runs as: sent upstream as x-tollgate-* headers. */
export interface ForwardIdentity {
  tokenId: string;
  repository: string;
  user: string | null;
  right: string;
}

/**
 * The request being judged, whatever carried it (an HTTP/1.1 exchange, an HTTP/2 stream, a
 * question on the decision port): what the decision step reads, and what it writes back.
 */
export interface Judged extends UseSource {
  readonly method: string;
  /** The request target as it came. */
  readonly url: string;
  /** Flat name/value list, names as sent. */
  readonly rawHeaders: readonly string[];
  /** True once the caller has gone: a late lookup then decides nothing. */
  readonly isDone: boolean;
  /** Set by the step: the checked path (with its query), the right, who it runs as. */
  path: string;
  right: RightLabel;
  identity: ForwardIdentity | undefined;
}

/** Where the step reports its verdict. Called exactly once per `decide`, unless the caller left. */
export interface Verdicts<R extends Judged> {
  allowed(request: R, right: Right): void;
  refused(request: R, reason: DenyReason, right: RightLabel): void;
}

export interface DecisionStepOptions {
  cache: TokenCache;
  routes: RouteTable;
  lastUsed: LastUsedRecorder;
  clock: Clock;
}

/**
 * The decision every port shares (SPEC §3 steps 1-4): check the target, find the route, find the
 * token, check the right on the repository, note the use. The proxy port forwards what it
 * allows, the decision port answers 200; both refuse through the same reasons. Synchronous on a
 * cached token (no promise, no closure); only a cache miss waits.
 */
export class DecisionStep {
  constructor(private readonly options: DecisionStepOptions) {}

  decide<R extends Judged>(request: R, verdicts: Verdicts<R>): void {
    if (request.url.length > MAX_TARGET_LENGTH) return verdicts.refused(request, 'uri_too_long', 'none');
    if (request.rawHeaders.length > 2 * MAX_HEADER_FIELDS) return verdicts.refused(request, 'too_many_headers', 'none');
    // CONNECT would make Tollgate a tunnel; nothing routes it.
    if (request.method === 'CONNECT') return verdicts.refused(request, 'bad_target', 'none');
    const target = checkTarget(request.url);
    if (target === undefined) return verdicts.refused(request, 'bad_target', 'none');
    request.path = target;
    const match = this.options.routes.match(target);

    if (match?.route.isPublic) {
      const right = rightFor(match.route, request.method);
      if (right === undefined) return verdicts.refused(request, 'method_not_allowed', 'none');
      request.right = right;
      return verdicts.allowed(request, right);
    }

    const identity = authenticate(request.rawHeaders, this.options.cache, this.options.clock.now());
    if (identity instanceof Promise) {
      // Cache miss: the only path that waits, and the only one that allocates a promise.
      identity.then(
        (settled) => this.authorized(request, match, settled, verdicts),
        () => {
          if (!request.isDone) verdicts.refused(request, 'store_unavailable', 'none');
        },
      );
      return;
    }
    this.authorized(request, match, identity, verdicts);
  }

  private authorized<R extends Judged>(request: R, match: RouteMatch | undefined, identity: Authentication, verdicts: Verdicts<R>): void {
    // The caller left while its token was being looked up: nothing to decide.
    if (request.isDone) return;
    if (typeof identity === 'string') return verdicts.refused(request, identity, 'none');
    if (match === undefined) return verdicts.refused(request, 'no_route', 'none');
    const right = rightFor(match.route, request.method);
    if (right === undefined) return verdicts.refused(request, 'method_not_allowed', 'none');
    let repository = match.repository;
    if (repository === undefined && match.route.repositoryHeader !== undefined) {
      // The route names its repository in a field (gRPC metadata): a value that is no name is refused.
      const named = repositoryFromHeader(match.route, request.rawHeaders);
      if (named === false) return verdicts.refused(request, 'insufficient_scope', right);
      repository = named;
    }
    const now = this.options.clock.now();
    const decision = authorize(identity, right, repository, now);
    if (!decision.allowed) return verdicts.refused(request, decision.reason, right);

    const record = identity.record;
    this.options.lastUsed.record(record.id, now, request);
    request.identity = { tokenId: record.id, repository: decision.repository, user: record.user, right };
    request.right = right;
    verdicts.allowed(request, right);
  }
}
