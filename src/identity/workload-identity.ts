import type { SecureContextOptions } from 'node:tls';
import type { WorkloadAuthenticators } from '../auth/decide.js';
import type { Principal, PrincipalSource, TokenCache } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import type { ConfigPart } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { CertificateAuthenticator, readClientCa } from './certificate-authenticator.js';

/** The workload identities a configuration turns on (docs/workload-identity.md). */
export interface WorkloadIdentity {
  authenticators: WorkloadAuthenticators;
  /** What the proxy port's TLS server adds to ask for client certificates (undefined: it asks for none). */
  clientTls: (SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean }) | undefined;
}

/**
 * Where the token cache finds verified workload identities; filled once they are built (they need
 * the cache themselves). Undefined when none are configured, so a token-only replica reads nothing.
 */
export function principalSlot(config: Config): PrincipalSlot | undefined {
  if (config.identity.jwt.length === 0 && config.identity.mtls.clientCa === '') return undefined;
  return emptySlot();
}

/** Where the token cache finds verified workload identities, whichever authenticators fill it. */
export type PrincipalSlot = PrincipalSource & { sources: PrincipalSource[] };

/**
 * A slot with no source yet: what a data plane reads when no identity is configured at start, so
 * a reload can add JWT issuers later. It is asked only on a cache miss, and answers at once.
 */
export function emptySlot(): PrincipalSlot {
  const sources: PrincipalSource[] = [];
  return {
    sources,
    principalOf(hash: string): Principal | undefined {
      for (const source of sources) {
        const principal = source.principalOf(hash);
        if (principal !== undefined) return principal;
      }
      return undefined;
    },
  };
}

/**
 * Builds what identity.jwt and identity.mtls ask for. jose is imported here only when an issuer
 * is configured: a replica with none never loads it.
 */
export async function startWorkloadIdentity(
  config: Config,
  slot: PrincipalSlot | undefined,
  cache: TokenCache,
  clock: Clock,
  fetcher: typeof fetch,
  logger: Logger,
): Promise<WorkloadIdentity> {
  const authenticators: WorkloadAuthenticators = {};
  let clientTls: WorkloadIdentity['clientTls'];
  if (slot === undefined) return { authenticators, clientTls };
  const { cache: limits } = config;
  if (config.identity.jwt.length > 0) await useJwtIssuers(config, slot, authenticators, cache, clock, fetcher, logger);
  const mtls = config.identity.mtls;
  if (mtls.clientCa !== '') {
    const certificates = new CertificateAuthenticator({ template: mtls.user, cache, clock, max: limits.max });
    slot.sources.push(certificates);
    authenticators.mtls = certificates;
    clientTls = { ca: readClientCa(mtls.clientCa), requestCert: true, rejectUnauthorized: mtls.required };
  }
  return { authenticators, clientTls };
}

/**
 * Builds the JWT verifier for `config.identity.jwt` and puts it in the slot and the decision
 * step's authenticators in place of the one there (none when the list is empty). jose is
 * imported only when the list names an issuer.
 */
export async function useJwtIssuers(
  config: Config,
  slot: PrincipalSlot,
  authenticators: WorkloadAuthenticators,
  cache: TokenCache,
  clock: Clock,
  fetcher: typeof fetch,
  logger: Logger,
): Promise<void> {
  const previous = slot.sources.indexOf(authenticators.jwt as unknown as PrincipalSource);
  if (config.identity.jwt.length === 0) {
    if (previous !== -1) slot.sources.splice(previous, 1);
    delete authenticators.jwt;
    return;
  }
  const { cache: limits } = config;
  const { loadJwtAuthenticator } = await import('./jwt-authenticator.js');
  const jwt = await loadJwtAuthenticator({
    issuers: config.identity.jwt,
    cache,
    clock,
    fetch: fetcher,
    max: limits.max,
    negativeMax: limits.negativeMax,
    negativeTtlMs: limits.negativeTtl,
    staleIfErrorMs: limits.staleIfError,
    logger,
  });
  const at = slot.sources.indexOf(authenticators.jwt as unknown as PrincipalSource);
  if (at === -1) slot.sources.push(jwt);
  else slot.sources[at] = jwt;
  authenticators.jwt = jwt;
  // Keys fetched before the first JWT arrives; an issuer down now is tried again on use.
  void jwt.prefetch();
}

/**
 * The `identity.jwt` part of a reload (docs/configuration.md, "Reloading"): a verifier for the new
 * issuers replaces the old one once jose is loaded (at once when it already is). A JWT already
 * verified stays as cached until `cache.ttl`, as a token does; `identity.mtls` needs a restart.
 */
export function jwtIssuersPart(
  slot: PrincipalSlot,
  authenticators: WorkloadAuthenticators,
  cache: TokenCache,
  clock: Clock,
  fetcher: typeof fetch,
  logger: Logger,
): ConfigPart {
  return {
    keys: ['identity.jwt'],
    apply(next) {
      useJwtIssuers(next, slot, authenticators, cache, clock, fetcher, logger).then(
        () => logger.info({ issuers: next.identity.jwt.length }, 'identity.jwt issuers in use'),
        (err: unknown) => logger.error({ err }, 'identity.jwt issuers not reloaded; the previous ones stay'),
      );
    },
  };
}
