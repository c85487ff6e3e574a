import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { LRUCache } from 'lru-cache';
import type { Authentication } from '../auth/authenticate.js';
import type { Identity } from '../auth/authorize.js';
import { type Principal, type PrincipalSource, type TokenCache, UNAVAILABLE, UNKNOWN } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import { ConfigError } from '../config/load.js';
import { hashSecret } from '../tokens/secret.js';
import { renderUser } from './claims-template.js';

/** A SPIFFE ID in the shape Kubernetes meshes issue: `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`. */
const SPIFFE_K8S = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** What a certificate's `user` template may name (docs/workload-identity.md). */
export interface CertificateFields {
  /** The first URI subject alternative name (a SPIFFE ID), or absent. */
  uri?: string;
  /** The subject's common name, or absent. */
  cn?: string;
  /** Parts of a Kubernetes-shaped SPIFFE ID. */
  spiffe?: { trustDomain: string; ns: string; sa: string };
}

/** The fields of a verified client certificate that a template can read. */
export function certificateFields(certificate: Pick<PeerCertificate, 'subject' | 'subjectaltname'>): CertificateFields {
  const fields: CertificateFields = {};
  const cn = certificate.subject?.CN;
  if (typeof cn === 'string') fields.cn = cn;
  for (const entry of (certificate.subjectaltname ?? '').split(', ')) {
    if (!entry.startsWith('URI:')) continue;
    fields.uri = entry.slice(4);
    const spiffe = SPIFFE_K8S.exec(fields.uri);
    if (spiffe !== null) fields.spiffe = { trustDomain: spiffe[1]!, ns: spiffe[2]!, sa: spiffe[3]! };
    break;
  }
  return fields;
}

export interface CertificateAuthenticatorOptions {
  /** `identity.mtls.user`. */
  template: string;
  cache: TokenCache;
  clock: Clock;
  /** `cache.max`. */
  max: number;
}

/**
 * Client certificates as workload identities: a certificate the TLS handshake verified against
 * `identity.mtls.clientCa` maps through the template to a user, and stands for that user as a
 * JWT does, until its notAfter. Keyed by the certificate's SHA-256 fingerprint.
 */
export class CertificateAuthenticator implements PrincipalSource {
  private readonly principals: LRUCache<string, Principal>;

  constructor(private readonly options: CertificateAuthenticatorOptions) {
    this.principals = new LRUCache({ max: options.max });
  }

  principalOf(hash: string): Principal | undefined {
    const principal = this.principals.get(hash);
    return principal !== undefined && principal.expiresAt > this.options.clock.now() ? principal : undefined;
  }

  authenticate(certificate: PeerCertificate, now: number): Authentication | Promise<Authentication> {
    const hash = hashSecret(`mtls:${certificate.fingerprint256}`);
    const cached = this.options.cache.cached(hash, now);
    if (cached !== undefined && cached !== UNKNOWN && cached !== UNAVAILABLE) return settle(cached, now);
    const user = renderUser(this.options.template, certificateFields(certificate));
    if (user === undefined) return 'certificate_unmapped_user';
    const issuer = certificate.issuer?.CN ?? '';
    this.principals.set(hash, {
      credential: 'mtls',
      issuer: typeof issuer === 'string' ? issuer : '',
      user,
      teams: [],
      expiresAt: Date.parse(certificate.valid_to),
    });
    return this.options.cache.resolve(hash).then((resolution) => {
      if (resolution === UNAVAILABLE) return 'store_unavailable';
      if (resolution === UNKNOWN) return 'certificate_unmapped_user';
      return settle(resolution, this.options.clock.now());
    });
  }
}

function settle(identity: Identity, now: number): Authentication {
  if (identity.isUserDisabled === true) return 'user_disabled';
  if (identity.record.expiresAt !== null && identity.record.expiresAt <= now) return 'invalid_token';
  return identity;
}

/** Reads the client CA bundle, checking it holds at least one certificate; a bad file at start is exit 2 naming the key. */
export function readClientCa(path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
    new X509Certificate(pem);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([
      `identity.mtls.clientCa: ${code?.startsWith('E') === true && code.length < 12 ? `cannot read ${path} (${code})` : `${path} holds no PEM certificate`}`,
    ]);
  }
  return pem;
}
