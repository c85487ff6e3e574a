import type { Clock } from '../clock.js';
import type { CredentialLabel, RightLabel } from '../metrics/metrics.js';
import type { PeerCertificate } from 'node:tls';
import type { Right } from '../tokens/record.js';
import { authenticateBearer, type Authentication } from './authenticate.js';
import { authorize, type Identity } from './authorize.js';
import { allowListOf, clientAddress, type AddressList } from './address-bounds.js';
import type { DenyReason } from './decision.js';
import type { LastUsedRecorder, UseSource } from './last-used.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import { checkTarget } from './paths.js';
import { hasUnderscoreTwin, repositoryFromHeader, rightFor, type RouteMatch, type RouteTable } from './routes.js';
import { BearerFault } from './bearer.js';
import { looksLikeJwt } from '../identity/jwt-shape.js';
import { findToken, HEADER_ONLY, removeProtocolToken, withoutQueryToken, type TokenSource } from './token-sources.js';
import type { TokenCache } from './token-cache.js';
import type { Limiter } from '../limits/limiter.js';
import type { LimitRefusal, TokenBudget } from '../limits/token-budget.js';
import type { ExchangeTrace } from '../tracing/tracing.js';

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
  /** A workload identity's issuer (a JWT's iss, a client certificate's issuer): for the access log. */
  issuer?: string | undefined;
}

/**
 * What the access log adds for a workload identity: the user it acted as and who vouched for it
 * (the JWT issuer, the client certificate's issuer), never the credential itself. Nothing for a token.
 */
export function workloadFields(identity: ForwardIdentity | undefined): { user?: string; issuer?: string } {
  if (identity?.issuer === undefined) return NO_FIELDS;
  return { user: identity.user ?? undefined, issuer: identity.issuer };
}

const NO_FIELDS = Object.freeze({});

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
  /** True once the caller has gone: a late lookup then decides nothing. */
  readonly isDone: boolean;
  /** Set by the step: the checked path (with its query), the right, who it runs as. */
  path: string;
  right: RightLabel;
  identity: ForwardIdentity | undefined;
  /** Set by the step when a token allowed it: where it was found, and the token as resolved. */
  tokenSource?: TokenSource;
  token?: Identity;
  /**
   * Set by the step when the token has limits: its budget, with one stream slot held for this
   * request. Whoever carries the request spends its body bytes there (spendBytes) and gives the
   * slot back exactly once when it ends, however it ends (streamEnded).
   */
  limited: TokenBudget | undefined;
  /** Set by the step: the pattern of the route matched, for the exchange's span (docs/tracing.md). */
  route?: string | undefined;
  /** The exchange's trace (docs/tracing.md): a cache miss's store lookup gets a span under it. */
  readonly trace?: ExchangeTrace;
}

/** Where the step reports its verdict. Called exactly once per `decide`, unless the caller left. */
export interface Verdicts<R extends Judged> {
  allowed(request: R, right: Right): void;
  /** `headers`: fields the refusal carries (Retry-After and the RateLimit fields of a limited token). */
  refused(request: R, reason: DenyReason, right: RightLabel, headers?: Readonly<Record<string, string>>): void;
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

  decide<R extends Judged>(request: R, verdicts: Verdicts<R>): void {
    if (request.url.length > MAX_TARGET_LENGTH) return verdicts.refused(request, 'uri_too_long', 'none');
    if (request.rawHeaders.length > 2 * MAX_HEADER_FIELDS) return verdicts.refused(request, 'too_many_headers', 'none');
    // CONNECT would make Tollgate a tunnel; nothing routes it.
    if (request.method === 'CONNECT') return verdicts.refused(request, 'bad_target', 'none');
    const target = checkTarget(request.url);
    if (target === undefined) return verdicts.refused(request, 'bad_target', 'none');
    request.path = target;
    const routes = this.options.routes;
    // What is authorized must be what every upstream routes: a path some server reads as another
    // route's (other case, encoding, `;` parameters, merged slashes) is refused, not matched.
    if (routes.isAmbiguous(target)) return verdicts.refused(request, 'ambiguous_path', 'none');
    const match = routes.match(target);
    // TRACING: the span names the route's pattern, never the path's ids or its query.
    if (match !== undefined) request.route = match.route.path;

    if (match?.route.isPublic) {
      const right = rightFor(match.route, request.method, request.isUpgrade === true);
      if (right === undefined) return verdicts.refused(request, 'method_not_allowed', 'none');
      request.right = right;
      return verdicts.allowed(request, right);
    }

    const found = findToken(target, request.rawHeaders, match?.route.tokenIn ?? HEADER_ONLY, request);
    if (found === 'two_places') return verdicts.refused(request, 'token_in_two_places', 'none');
    const identity = this.authenticate(found, request);
    if (identity instanceof Promise) {
      // Cache miss: the only path that waits, and the only one that allocates a promise.
      // TRACING: the lookup's span, under the exchange's (a no-op while tracing is off).
      const lookup = request.trace?.storeLookup();
      identity.then(
        (settled) => {
          lookup?.end(settled === 'store_unavailable');
          this.authorized(request, match, settled, verdicts);
        },
        () => {
          lookup?.end(true);
          if (!request.isDone) verdicts.refused(request, 'store_unavailable', 'none');
        },
      );
      return;
    }
    this.authorized(request, match, identity, verdicts);
  }

  /**
   * The credential's identity: a JWT-shaped bearer is verified as a JWT when issuers are
   * configured, any other bearer is a Tollgate token; with no bearer at all, a verified client
   * certificate speaks. A bearer sent over a certificate's connection decides alone: the
   * certificate names the workload, the bearer the user it acts as now (docs/workload-identity.md).
   */
  private authenticate(found: string | BearerFault, request: Judged): Authentication | Promise<Authentication> {
    const now = this.options.clock.now();
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

  private authorized<R extends Judged>(request: R, match: RouteMatch | undefined, identity: Authentication, verdicts: Verdicts<R>): void {
    // The caller left while its token was being looked up: nothing to decide.
    if (request.isDone) return;
    if (typeof identity === 'string') return verdicts.refused(request, identity, 'none');
    // From here the token is known: its refusals are counted in its usage history.
    if (match === undefined) return this.refuse(request, identity, 'no_route', 'none', verdicts);
    const right = rightFor(match.route, request.method, request.isUpgrade === true);
    if (right === undefined) return this.refuse(request, identity, 'method_not_allowed', 'none', verdicts);
    let repository = match.repository;
    if (repository === undefined && match.route.repositoryHeader !== undefined) {
      // A twin of the field would name the repository to CGI-style upstreams instead of this one.
      if (hasUnderscoreTwin(match.route.repositoryHeader, request.rawHeaders)) return this.refuse(request, identity, 'ambiguous_header', right, verdicts);
      // The route names its repository in a field (gRPC metadata): a value that is no name is refused.
      const named = repositoryFromHeader(match.route, request.rawHeaders);
      if (named === false) return this.refuse(request, identity, 'insufficient_scope', right, verdicts);
      repository = named;
    }
    const now = this.options.clock.now();
    const decision = authorize(identity, right, repository, now);
    if (!decision.allowed) return this.refuse(request, identity, decision.reason, right, verdicts);

    const record = identity.record;
    // One field check for a token with no address bound; its CIDRs are parsed once per cached record.
    if (record.allowFrom !== undefined && record.allowFrom.length > 0) {
      const from = clientAddress(request.remoteAddress, request.rawHeaders, this.options.trustedProxies);
      if (!allowListOf(record).has(from)) return this.refuse(request, identity, 'address_not_allowed', right, verdicts);
    }
    // A workload identity is no stored token: there is no record to note its use on (docs/workload-identity.md).
    if (identity.workload === undefined) this.options.lastUsed.record(record.id, now, request);
    request.identity = { tokenId: record.id, repository: decision.repository, user: record.user, right, issuer: identity.workload?.issuer };
    request.right = right;
    request.token = identity;
    // The upstream never sees the token: out of the target, or out of the subprotocol list.
    if (request.tokenSource === 'query') request.path = withoutQueryToken(request.path);
    else if (request.tokenSource === 'protocol') removeProtocolToken(request.rawHeaders);
    const limiter = this.options.limits;
    // Its own budget, linked up its lent line: a lent token spends its makers' budgets too.
    const budget = limiter?.budgetOfLine(identity);
    if (limiter === undefined || budget === undefined) return this.allow(request, identity, right, verdicts, now);

    // After authorize: a request that may not pass spends nothing of the token's limits.
    const admitted = limiter.admitTo(budget, now);
    if (admitted instanceof Promise) {
      // Only when a lease must come from the store first (the token's first request here).
      admitted.then(
        (settled) => this.limited(request, identity, right, settled, budget, verdicts),
        () => {
          if (!request.isDone) this.refuse(request, identity, 'store_unavailable', right, verdicts);
        },
      );
      return;
    }
    this.limited(request, identity, right, admitted, budget, verdicts);
  }

  private limited<R extends Judged>(request: R, identity: Identity, right: Right, admitted: TokenBudget | LimitRefusal, budget: TokenBudget, verdicts: Verdicts<R>): void {
    if (typeof admitted === 'string') {
      if (request.isDone) return;
      const limiter = this.options.limits!;
      return this.refuse(request, identity, admitted, right, verdicts, limiter.refusalHeadersOf(budget, admitted, this.options.clock.now()));
    }
    // The caller left while the lease was on its way: its slot goes back at once.
    if (request.isDone) return admitted.streamEnded();
    request.limited = admitted;
    this.allow(request, identity, right, verdicts, this.options.clock.now());
  }

  /** Allows a token's request and counts it in the token's usage history. */
  private allow<R extends Judged>(request: R, identity: Identity, right: Right, verdicts: Verdicts<R>, now: number): void {
    this.options.usage?.allowed(identity, now);
    verdicts.allowed(request, right);
  }

  /** Refuses a request whose token is known, and counts the refusal by reason in its usage history. */
  private refuse<R extends Judged>(request: R, identity: Identity, reason: DenyReason, right: RightLabel, verdicts: Verdicts<R>, headers?: Readonly<Record<string, string>>): void {
    this.options.usage?.refused(identity, reason, this.options.clock.now());
    verdicts.refused(request, reason, right, headers);
  }
}
