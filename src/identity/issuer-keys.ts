import type * as Jose from 'jose';
import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';

/** How long fetched keys count as fresh; older ones are refreshed in the background, never on a request's path. */
export const KEYS_MAX_AGE_MS = 5 * 60_000;

/** At most one fetch per issuer in this long, whatever asks for it (an unknown `kid`, fresh keys wanted). */
export const REFRESH_INTERVAL_MS = 10_000;

/** One fetch of discovery or JWKS gives up after this long. */
const FETCH_TIMEOUT_MS = 5_000;

/** Why an issuer's keys could not be had. */
export class IssuerKeysError extends Error {
  readonly code = 'TG_JWKS_UNAVAILABLE';
}

export interface IssuerKeysOptions {
  issuer: string;
  /** The JWKS URL; "" to find it by OIDC discovery (OpenID Connect Discovery 1.0 §4). */
  jwksUri: string;
  jose: typeof Jose;
  fetch: typeof fetch;
  clock: Clock;
  /** Keys past KEYS_MAX_AGE_MS are still used this long while the issuer cannot be reached. */
  staleIfErrorMs: number;
  logger?: Logger;
}

interface HeldKeys {
  readonly set: ReturnType<typeof Jose.createLocalJWKSet>;
  readonly fetchedAt: number;
}

/**
 * One issuer's signing keys: fetched on first use, refreshed in the background once they are
 * older than KEYS_MAX_AGE_MS, refreshed when a token names a `kid` they lack, and never fetched
 * more than once per REFRESH_INTERVAL_MS. While the issuer is unreachable the keys held keep
 * serving for `staleIfErrorMs` past their age; after that, or with none ever fetched, there is
 * nothing to verify with and the token is refused (fail closed).
 */
export class IssuerKeys {
  private held: HeldKeys | undefined;
  private lastAttemptAt = -Infinity;
  private inflight: Promise<void> | undefined;

  constructor(private readonly options: IssuerKeysOptions) {}

  /** Keys usable now, fetching only when none usable are held; undefined: none to be had. */
  async usable(): Promise<HeldKeys['set'] | undefined> {
    const now = this.options.clock.now();
    const held = this.held;
    if (held !== undefined && now - held.fetchedAt < KEYS_MAX_AGE_MS) return held.set;
    if (held !== undefined && now - held.fetchedAt < KEYS_MAX_AGE_MS + this.options.staleIfErrorMs) {
      // Stale but servable: refresh behind the request, which goes on with what is held.
      void this.refresh();
      return held.set;
    }
    await this.refresh();
    const after = this.held;
    return after !== undefined && this.options.clock.now() - after.fetchedAt < KEYS_MAX_AGE_MS + this.options.staleIfErrorMs ? after.set : undefined;
  }

  /**
   * Fetches the keys again unless a fetch ran within REFRESH_INTERVAL_MS (then resolves at once,
   * or with the fetch under way). Resolves true when new keys came.
   */
  refresh(): Promise<boolean> {
    if (this.inflight !== undefined)
      return this.inflight.then(
        () => true,
        () => false,
      );
    const now = this.options.clock.now();
    if (now - this.lastAttemptAt < REFRESH_INTERVAL_MS) return Promise.resolve(false);
    this.lastAttemptAt = now;
    const pending = this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    this.inflight = pending;
    return pending.then(
      () => true,
      (err: unknown) => {
        this.options.logger?.warn({ issuer: this.options.issuer, err: (err as Error).message }, 'JWT issuer keys not fetched; keeping those held');
        return false;
      },
    );
  }

  private async fetchKeys(): Promise<void> {
    const { jose, clock } = this.options;
    const jwksUri = this.options.jwksUri !== '' ? this.options.jwksUri : await this.discover();
    const jwks = await this.getJson(jwksUri);
    if (jwks === null || typeof jwks !== 'object' || !Array.isArray((jwks as { keys?: unknown }).keys))
      throw new IssuerKeysError(`${jwksUri} holds no JWK Set`);
    this.held = { set: jose.createLocalJWKSet(jwks as Jose.JSONWebKeySet), fetchedAt: clock.now() };
  }

  /** The jwks_uri of the issuer's discovery document, whose `issuer` must be the configured one (OIDC Discovery §4.3). */
  private async discover(): Promise<string> {
    const base = this.options.issuer.replace(/\/$/, '');
    const document = (await this.getJson(`${base}/.well-known/openid-configuration`)) as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (document?.issuer !== this.options.issuer) throw new IssuerKeysError(`discovery document of ${this.options.issuer} names another issuer`);
    if (typeof document.jwks_uri !== 'string') throw new IssuerKeysError(`discovery document of ${this.options.issuer} has no jwks_uri`);
    return document.jwks_uri;
  }

  private async getJson(url: string): Promise<unknown> {
    const response = await this.options.fetch(url, {
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: 'error',
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new IssuerKeysError(`${url} answered ${response.status}`);
    return response.json();
  }
}
