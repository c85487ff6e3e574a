import type * as Jose from 'jose';
import { LRUCache } from 'lru-cache';
import type { Authentication } from '../auth/authenticate.js';
import type { Identity } from '../auth/authorize.js';
import type { DenyReason } from '../auth/decision.js';
import { type Principal, type PrincipalSource, type Resolution, type TokenCache, UNAVAILABLE, UNKNOWN } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { hashSecret } from '../tokens/secret.js';
import { renderUser, teamsIn } from './claims-template.js';
import { IssuerKeys } from './issuer-keys.js';

export type JwtIssuerConfig = Config['identity']['jwt'][number];

export interface JwtAuthenticatorOptions {
  issuers: readonly JwtIssuerConfig[];
  jose: typeof Jose;
  cache: TokenCache;
  clock: Clock;
  fetch: typeof fetch;
  /** `cache.max`: verified JWTs held at once. */
  max: number;
  /** `cache.negativeMax` / `cache.negativeTtl`: refused JWTs remembered, so a flood costs no signature checks. */
  negativeMax: number;
  negativeTtlMs: number;
  /** `cache.staleIfError`: an issuer's keys serve this long past their age while it is unreachable. */
  staleIfErrorMs: number;
  logger?: Logger;
}

interface Issuer {
  readonly config: JwtIssuerConfig;
  readonly keys: IssuerKeys;
}

/**
 * Workload JWTs (docs/workload-identity.md): verifies a bearer JWT against the issuer its `iss`
 * names (signature, `aud`, `exp`, `nbf`), maps its claims to a user, and hands the token cache a
 * principal for it, so the identity is cached, re-judged and evicted exactly like a personal
 * token. A cached JWT is answered synchronously with no key fetch and no signature check; the
 * signature is checked again once the cache entry passes `cache.ttl`.
 */
export class JwtAuthenticator implements PrincipalSource {
  private readonly issuers = new Map<string, Issuer>();
  /** Verified JWTs by hash, until their `exp`: what the cache reads when it re-reads their user. */
  private readonly principals: LRUCache<string, Principal>;
  private readonly refusals: LRUCache<string, DenyReason>;
  /** Verifications under way, by JWT hash: concurrent first requests with one JWT check it once. */
  private readonly inflight = new Map<string, Promise<Authentication>>();

  constructor(private readonly options: JwtAuthenticatorOptions) {
    for (const config of options.issuers) {
      const keys = new IssuerKeys({
        issuer: config.issuer,
        jwksUri: config.jwksUri,
        jose: options.jose,
        fetch: options.fetch,
        clock: options.clock,
        staleIfErrorMs: options.staleIfErrorMs,
        logger: options.logger,
      });
      this.issuers.set(config.issuer, { config, keys });
    }
    this.principals = new LRUCache({ max: options.max });
    this.refusals = new LRUCache({ max: options.negativeMax, ttl: options.negativeTtlMs, ttlResolution: 0, perf: options.clock });
  }

  /** Fetches every issuer's keys now (at start), so the first JWT need not wait for them. */
  async prefetch(): Promise<void> {
    await Promise.all([...this.issuers.values()].map((issuer) => issuer.keys.refresh()));
  }

  principalOf(hash: string): Principal | undefined {
    const principal = this.principals.get(hash);
    return principal !== undefined && principal.expiresAt > this.options.clock.now() ? principal : undefined;
  }

  /** The identity a JWT stands for, or why it is refused; synchronous when the cache holds it. */
  authenticate(jwt: string, now: number): Authentication | Promise<Authentication> {
    const hash = hashSecret(jwt);
    const cached = this.options.cache.cached(hash, now);
    if (cached !== undefined && cached !== UNKNOWN && cached !== UNAVAILABLE) return settle(cached, now);
    const refused = this.refusals.get(hash);
    if (refused !== undefined) return refused;
    const pending = this.inflight.get(hash);
    if (pending !== undefined) return pending;
    const verifying = this.verify(jwt, hash).finally(() => this.inflight.delete(hash));
    this.inflight.set(hash, verifying);
    return verifying;
  }

  private async verify(jwt: string, hash: string): Promise<Authentication> {
    let claimedIssuer: unknown;
    try {
      claimedIssuer = this.options.jose.decodeJwt(jwt).iss;
    } catch {
      return this.refuse(hash, 'invalid_token');
    }
    const issuer = typeof claimedIssuer === 'string' ? this.issuers.get(claimedIssuer) : undefined;
    if (issuer === undefined) return this.refuse(hash, 'jwt_unknown_issuer');
    const verified = await this.verifyWith(issuer, jwt);
    if (verified instanceof Refusal) return verified.isRemembered ? this.refuse(hash, verified.reason) : verified.reason;
    const user = renderUser(issuer.config.user, verified);
    if (user === undefined) return this.refuse(hash, 'jwt_unmapped_user');
    const expiresAt = (verified.exp ?? 0) * 1000 + issuer.config.clockSkew;
    this.principals.set(hash, { credential: 'jwt', issuer: issuer.config.issuer, user, teams: teamsIn(verified, issuer.config.teams), expiresAt });
    let resolution: Resolution;
    try {
      resolution = await this.options.cache.resolve(hash);
    } catch {
      return 'store_unavailable';
    }
    if (resolution === UNAVAILABLE) return 'store_unavailable';
    if (resolution === UNKNOWN) return this.refuse(hash, 'jwt_unmapped_user');
    return settle(resolution, this.options.clock.now());
  }

  /** The verified claims, or why not; an unknown `kid` fetches the keys again (once per 10 s) and tries once more. */
  private async verifyWith(issuer: Issuer, jwt: string): Promise<Jose.JWTPayload | Refusal> {
    let keys = await issuer.keys.usable();
    if (keys === undefined) return KEYS_UNAVAILABLE;
    for (let attempt = 0; ; attempt++) {
      try {
        const { payload } = await this.options.jose.jwtVerify(jwt, keys, {
          issuer: issuer.config.issuer,
          audience: issuer.config.audiences,
          algorithms: issuer.config.algorithms,
          clockTolerance: issuer.config.clockSkew / 1000,
          currentDate: new Date(this.options.clock.now()),
          requiredClaims: ['exp'],
        });
        return payload;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ERR_JWKS_NO_MATCHING_KEY' && attempt === 0 && (await issuer.keys.refresh())) {
          const fresh = await issuer.keys.usable();
          if (fresh !== undefined) {
            keys = fresh;
            continue;
          }
        }
        // A kid the keys lack may be a rotation not yet fetched (the 10 s gate was shut): not remembered.
        return new Refusal(reasonOf(err), code !== 'ERR_JWKS_NO_MATCHING_KEY');
      }
    }
  }

  private refuse(hash: string, reason: DenyReason): DenyReason {
    this.refusals.set(hash, reason);
    return reason;
  }
}

/** Why a JWT did not verify, and whether the same JWT may be refused from memory for a while. */
class Refusal {
  constructor(
    readonly reason: DenyReason,
    readonly isRemembered: boolean,
  ) {}
}

const KEYS_UNAVAILABLE = new Refusal('jwt_keys_unavailable', false);

/** A cached or freshly read identity, as a request sees it. */
function settle(identity: Identity, now: number): Authentication {
  if (identity.isUserDisabled === true) return 'user_disabled';
  if (identity.record.expiresAt !== null && identity.record.expiresAt <= now) return 'jwt_expired';
  return identity;
}

/** Which check a jose error is (its stable `code`, never its message). */
function reasonOf(err: unknown): DenyReason {
  const { code, claim } = err as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'jwt_expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'aud') return 'jwt_wrong_audience';
      if (claim === 'nbf' || claim === 'exp') return 'jwt_expired';
      if (claim === 'iss') return 'jwt_unknown_issuer';
      return 'invalid_token';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'jwt_bad_signature';
    default:
      return 'invalid_token';
  }
}

/** Loads jose (only now: with no issuer configured it is never loaded) and builds the authenticator. */
export async function loadJwtAuthenticator(options: Omit<JwtAuthenticatorOptions, 'jose'>): Promise<JwtAuthenticator> {
  const jose = await import('jose');
  return new JwtAuthenticator({ ...options, jose });
}
