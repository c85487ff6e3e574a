import type { PeerCertificate } from 'node:tls';
import type { CredentialLabel } from '../auth/verdict.js';
import type { Clock } from '../clock.js';
import { type AddressList, allowListOf, clientAddress } from '../http/address-bounds.js';
import { checkTarget } from '../http/paths.js';
import type { Limiter } from '../limits/limiter.js';
import type { LimitRefusal, TokenBudget } from '../limits/token-budget.js';
import type { Right } from '../tokens/record.js';
import type { ExchangeTrace } from '../tracing/tracing.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import { type Authentication, authenticateBearer } from './authenticate.js';
import { authorize, type Identity } from './authorize.js';
import { BearerFault } from './bearer.js';
import type { DenyReason } from './decision.js';
import { looksLikeJwt } from './jwt-shape.js';
import type { LastUsedRecorder, UseSource } from './last-used.js';
import { hasUnderscoreTwin, type RouteMatch, type RouteTable, repositoryFromHeader, rightFor } from './routes.js';
import type { TokenCache } from './token-cache.js';
import { findToken, HEADER_ONLY, removeProtocolToken, type TokenSource, withoutQueryToken } from './token-sources.js';
import type { RightLabel } from './verdict.js';
import { type ForwardIdentity, refusal, type Verdict } from './verdict.js';

/** Longest request target accepted (RFC 9112 §3 recommends supporting at least 8000 octets). */
export const MAX_TARGET_LENGTH = 8192;

/** Most header fields accepted; beyond, 431 with its problem body. */
export const MAX_HEADER_FIELDS = 200;

/**
 * The request being judged, whatever carried it (an HTTP/1.1 exchange, an HTTP/2 stream, a
 * question on the decision port): what the decision step reads, and what it writes back.
 */
export interface Judged extends UseSource {
  readonly method: string;
  /** The request target as it came. */
  readonly url: string;
  /** Flat name/value list, names as sent (a token subprotocol is taken out of it once allowed). */
  readonly rawHeaders: string[];
  /** A WebSocket upgrade: its right is the route's WEBSOCKET entry, else its GET right. */
  readonly isUpgrade?: boolean;
  /** The client certificate the TLS handshake verified, if any (the proxy port with identity.mtls). */
  readonly clientCertificate?: PeerCertificate | undefined;
  /** Set by the step: what kind of credential the request carried (the `credential` label). */
  credential: CredentialLabel;
  /** Set by the step when a token was found: where (header, query, protocol). */
  tokenSource?: TokenSource | undefined;
  /** True once the caller has gone: a late lookup then records no use and holds no slot. */
  readonly isDone: boolean;
  /** Set by the step: the pattern of the route matched, for the exchange's span (docs/tracing.md). */
  route?: string | undefined;
  /** The exchange's trace (docs/tracing.md): a cache miss's store lookup gets a span under it. */
  readonly trace?: ExchangeTrace;
}

/** What an open exchange is judged again by when the routes change: the request as it was allowed. */
export interface AllowedRequest {
  readonly method: string;
  /** The checked path (with its query), as the step set it. */
  readonly path: string;
  readonly rawHeaders: readonly string[];
  readonly isUpgrade?: boolean;
  readonly tokenSource?: TokenSource | undefined;
}

/** Where workload identities are verified (docs/workload-identity.md); absent: none configured. */
export interface WorkloadAuthenticators {
  /** A bearer shaped like a JWT: verified as one. Synchronous when the JWT is cached. */
  jwt?: { authenticate(jwt: string, now: number): Authentication | Promise<Authentication> };
  /** A verified client certificate: the identity it maps to, when no bearer is sent. */
  mtls?: { authenticate(certificate: PeerCertificate, now: number): Authentication | Promise<Authentication> };
}

export interface DecisionStepOptions {
  cache: TokenCache;
  /** JWT and client-certificate identities beside Tollgate's tokens. */
  workload?: WorkloadAuthenticators;
  /** Swapped whole by `useRoutes` on a configuration reload. */
  routes: RouteTable;
  lastUsed: LastUsedRecorder;
  /** Usage history (docs/usage.md): each verdict on a known token is counted here; absent: none kept. */
  usage?: UsageRecorder;
  clock: Clock;
  /** Per-token limits (docs/limits.md); absent: no token is limited. */
  limits?: Limiter;
  /** `proxy.trustedProxies`: peers whose first X-Forwarded-For hop is taken as the client's address. Set anew by a reload. */
  trustedProxies?: AddressList | undefined;
}

/**
 * The decision every port shares (the first steps of docs/data-plane.md): check the target, find the route, find the
 * token, check the right on the repository, note the use. The proxy port forwards what it
 * allows, the decision port answers 200; both refuse through the same reasons. Synchronous on a
 * cached token (no promise, no closure); only a cache miss waits.
 */
export class DecisionStep {
  constructor(private readonly options: DecisionStepOptions) {}

  /** Request fields a route reads for its decision: a port forwarding requests keeps them whatever `Connection` names. */
  get decisionFields(): ReadonlySet<string> {
    return this.options.routes.decisionFields;
  }

  /**
   * A reloaded route table: requests judged from now on use it (one judged while its token was
   * being looked up keeps the route it matched, as it would have a moment earlier).
   */
  useRoutes(routes: RouteTable): void {
    this.options.routes = routes;
  }

  /** A reloaded `proxy.trustedProxies`: the next request's client address is read with it. */
  useTrustedProxies(trustedProxies: AddressList | undefined): void {
    this.options.trustedProxies = trustedProxies;
  }

  /**
   * Whether an exchange allowed earlier on `token` would be allowed now, under the routes in
   * force: a route still matches its path, takes its token from where it came, asks a right
   * of its method that the token holds on the repository it names. Limits are not asked again.
   */
  allowsStill(request: AllowedRequest, token: Identity | undefined, now: number): boolean {
    const routes = this.options.routes;
    if (routes.isAmbiguous(request.path)) return false;
    const match = routes.match(request.path);
    if (match === undefined) return false;
    if (match.route.isPublic) return rightFor(match.route, request.method, request.isUpgrade === true) !== undefined;
    if (token === undefined) return false;
    if (request.tokenSource !== undefined && !match.route.tokenIn[request.tokenSource]) return false;
    const right = rightFor(match.route, request.method, request.isUpgrade === true);
    if (right === undefined) return false;
    let repository = match.repository;
    if (repository === undefined && match.route.repositoryHeader !== undefined) {
      const rawHeaders = request.rawHeaders as string[];
      if (hasUnderscoreTwin(match.route.repositoryHeader, rawHeaders)) return false;
      const named = repositoryFromHeader(match.route, rawHeaders);
      if (named === false) return false;
      repository = named;
    }
    return authorize(token, right, repository, now).allowed;
  }

  /**
   * The verdict on one request: synchronous on a cached token (no promise, no closure); only a
   * cache miss, or a limited token's first lease, waits.
   */
  decide(request: Judged): Verdict | Promise<Verdict> {
    if (request.url.length > MAX_TARGET_LENGTH) return refusal('uri_too_long');
    if (request.rawHeaders.length > 2 * MAX_HEADER_FIELDS) return refusal('too_many_headers');
    // CONNECT would make Tollgate a tunnel; nothing routes it.
    if (request.method === 'CONNECT') return refusal('bad_target');
    const target = checkTarget(request.url);
    if (target === undefined) return refusal('bad_target');
    const routes = this.options.routes;
    // What is authorized must be what every upstream routes: a path some server reads as another
    // route's (other case, encoding, `;` parameters, merged slashes) is refused, not matched.
    if (routes.isAmbiguous(target)) return refusal('ambiguous_path');
    const match = routes.match(target);
    // The span names the route's pattern, never the path's ids or its query.
    if (match !== undefined) request.route = match.route.path;

    if (match?.route.isPublic) {
      const right = rightFor(match.route, request.method, request.isUpgrade === true);
      if (right === undefined) return refusal('method_not_allowed');
      return { allowed: true, right, path: target, identity: undefined, token: undefined, limited: undefined };
    }

    const found = findToken(target, request.rawHeaders, match?.route.tokenIn ?? HEADER_ONLY, request);
    if (found === 'two_places') return refusal('token_in_two_places');
    // One clock read for the whole synchronous decision: authentication and authorization.
    const now = this.options.clock.now();
    const identity = this.authenticate(found, request, now);
    if (identity instanceof Promise) {
      // Cache miss: the only path that waits, and the only one that allocates a promise.
      // The lookup's span, under the exchange's (a no-op while tracing is off).
      const lookup = request.trace?.storeLookup();
      return identity.then(
        (settled) => {
          lookup?.end(settled === 'store_unavailable');
          return this.authorized(request, target, match, settled, this.options.clock.now());
        },
        () => {
          lookup?.end(true);
          return refusal('store_unavailable');
        },
      );
    }
    return this.authorized(request, target, match, identity, now);
  }

  /**
   * The credential's identity: a JWT-shaped bearer is verified as a JWT when issuers are
   * configured, any other bearer is a Tollgate token; with no bearer at all, a verified client
   * certificate speaks. A bearer sent over a certificate's connection decides alone: the
   * certificate names the workload, the bearer the user it acts as now (docs/workload-identity.md).
   */
  private authenticate(found: string | BearerFault, request: Judged, now: number): Authentication | Promise<Authentication> {
    const workload = this.options.workload;
    if (typeof found === 'string') {
      if (workload?.jwt !== undefined && looksLikeJwt(found)) {
        request.credential = 'jwt';
        return workload.jwt.authenticate(found, now);
      }
      request.credential = 'token';
    } else if (found === BearerFault.Missing && workload?.mtls !== undefined && request.clientCertificate !== undefined) {
      request.credential = 'mtls';
      return workload.mtls.authenticate(request.clientCertificate, now);
    }
    return authenticateBearer(found, this.options.cache, now);
  }

  /** `now`: the clock when the identity was known (read again after a wait for the store). */
  private authorized(request: Judged, target: string, match: RouteMatch | undefined, identity: Authentication, now: number): Verdict | Promise<Verdict> {
    if (typeof identity === 'string') return refusal(identity);
    // From here the token is known: its refusals are counted in its usage history.
    if (match === undefined) return this.refuse(identity, 'no_route', 'none');
    const right = rightFor(match.route, request.method, request.isUpgrade === true);
    if (right === undefined) return this.refuse(identity, 'method_not_allowed', 'none');
    let repository = match.repository;
    if (repository === undefined && match.route.repositoryHeader !== undefined) {
      // A twin of the field would name the repository to CGI-style upstreams instead of this one.
      if (hasUnderscoreTwin(match.route.repositoryHeader, request.rawHeaders)) return this.refuse(identity, 'ambiguous_header', right);
      // The route names its repository in a field (gRPC metadata): a value that is no name is refused.
      const named = repositoryFromHeader(match.route, request.rawHeaders);
      if (named === false) return this.refuse(identity, 'insufficient_scope', right);
      repository = named;
    }
    const decision = authorize(identity, right, repository, now);
    if (!decision.allowed) return this.refuse(identity, decision.reason, right);

    const record = identity.record;
    // One field check for a token with no address bound; its CIDRs are parsed once per cached record.
    if (record.allowFrom !== undefined && record.allowFrom.length > 0) {
      const from = clientAddress(request.remoteAddress, request.rawHeaders, this.options.trustedProxies);
      if (!allowListOf(record).has(from)) return this.refuse(identity, 'address_not_allowed', right);
    }
    // The caller left while its token was being looked up: no use to note, no slot to hold (the
    // refusal is rendered by no one).
    if (request.isDone) return refusal('store_unavailable', right);
    // A workload identity is no stored token: there is no record to note its use on (docs/workload-identity.md).
    if (identity.workload === undefined) this.options.lastUsed.record(record.id, now, request);
    const forwarded: ForwardIdentity = { tokenId: record.id, repository: decision.repository, user: record.user, right, issuer: identity.workload?.issuer };
    // The upstream never sees the token: out of the target, or out of the subprotocol list.
    let path = target;
    if (request.tokenSource === 'query') path = withoutQueryToken(target);
    else if (request.tokenSource === 'protocol') removeProtocolToken(request.rawHeaders);
    const limiter = this.options.limits;
    // Its own budget, linked up its lent line: a lent token spends its makers' budgets too.
    const budget = limiter?.budgetOfLine(identity);
    if (limiter === undefined || budget === undefined) {
      this.options.usage?.allowed(identity, now);
      return { allowed: true, right, path, identity: forwarded, token: identity, limited: undefined };
    }

    // After authorize: a request that may not pass spends nothing of the token's limits.
    const admitted = limiter.admitTo(budget, now);
    if (admitted instanceof Promise) {
      // Only when a lease must come from the store first (the token's first request here).
      return admitted.then(
        (settled) => this.limited(request, right, path, forwarded, identity, settled, budget),
        () => refusal('store_unavailable', right),
      );
    }
    return this.limited(request, right, path, forwarded, identity, admitted, budget);
  }

  private limited(
    request: Judged,
    right: Right,
    path: string,
    forwarded: ForwardIdentity,
    token: Identity,
    admitted: TokenBudget | LimitRefusal,
    budget: TokenBudget,
  ): Verdict {
    if (typeof admitted === 'string')
      return this.refuse(token, admitted, right, this.options.limits!.refusalHeadersOf(budget, admitted, this.options.clock.now()));
    // The caller left while the lease was on its way: its slot goes back at once.
    if (request.isDone) {
      admitted.streamEnded();
      return refusal('store_unavailable', right);
    }
    this.options.usage?.allowed(token, this.options.clock.now());
    return { allowed: true, right, path, identity: forwarded, token, limited: admitted };
  }

  /** Refuses a request whose token is known, and counts the refusal by reason in its usage history. */
  private refuse(identity: Identity, reason: DenyReason, right: RightLabel, headers?: Readonly<Record<string, string>>): Verdict {
    this.options.usage?.refused(identity, reason, this.options.clock.now());
    return refusal(reason, right, headers);
  }
}
