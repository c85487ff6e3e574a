import type { SecureContextOptions } from 'node:tls';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { WorkloadAuthenticators } from '../auth/decide.js';
import type { Principal, PrincipalSource, TokenCache } from '../auth/token-cache.js';
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
export function principalSlot(config: Config): (PrincipalSource & { sources: PrincipalSource[] }) | undefined {
  if (config.identity.jwt.length === 0 && config.identity.mtls.clientCa === '') return undefined;
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
  slot: ReturnType<typeof principalSlot>,
  cache: TokenCache,
  clock: Clock,
  fetcher: typeof fetch,
  logger: Logger,
): Promise<WorkloadIdentity> {
  const authenticators: WorkloadAuthenticators = {};
  let clientTls: WorkloadIdentity['clientTls'];
  if (slot === undefined) return { authenticators, clientTls };
  const { cache: limits } = config;
  if (config.identity.jwt.length > 0) {
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
    slot.sources.push(jwt);
    authenticators.jwt = jwt;
    // Keys fetched before the first JWT arrives; an issuer down now is tried again on use.
    void jwt.prefetch();
  }
  const mtls = config.identity.mtls;
  if (mtls.clientCa !== '') {
    const certificates = new CertificateAuthenticator({ template: mtls.user, cache, clock, max: limits.max });
    slot.sources.push(certificates);
    authenticators.mtls = certificates;
    clientTls = { ca: readClientCa(mtls.clientCa), requestCert: true, rejectUnauthorized: mtls.required };
  }
  return { authenticators, clientTls };
}
