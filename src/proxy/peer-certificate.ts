import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';

/**
 * The client certificate of a TLS connection, only when the handshake verified it against
 * `identity.mtls.clientCa` (an unverified one, allowed when certificates are optional, names
 * nobody). Undefined on a plain connection.
 */
export function verifiedPeerCertificate(socket: Socket): PeerCertificate | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (tls.encrypted !== true || tls.authorized !== true || tls.getPeerCertificate === undefined) return undefined;
  const certificate = tls.getPeerCertificate();
  return certificate.raw === undefined ? undefined : certificate;
}
