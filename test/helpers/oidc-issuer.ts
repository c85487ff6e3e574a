import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export interface OidcIssuer {
  /** The issuer URL, as `iss` names it. */
  issuer: string;
  /** How many times the JWK Set was served. */
  jwksFetches: number;
  /** False: every request gets a 503 (an issuer outage). */
  isUp: boolean;
  /** Signs claims with the current key (or one named by kid); iss, iat and exp are added unless given. */
  sign(claims: JWTPayload, options?: { kid?: string; alg?: string; expiresInS?: number; nowS?: number }): Promise<string>;
  /** Publishes a new key and signs with it from now on; the old one stays published. */
  rotate(alg?: string): Promise<string>;
  /** The kid tokens are signed with now. */
  currentKid: string;
  close(): Promise<void>;
}

let kids = 0;

async function makeKey(alg: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `key-${++kids}`;
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/**
 * A real OIDC issuer over HTTP: /.well-known/openid-configuration and /keys (the JWK Set), keys
 * made with jose, rotated on demand. `path` lets one server stand for an issuer with a path
 * (a Kubernetes API server's is often https://host/ or an EKS-style URL with an id in it).
 */
export async function startOidcIssuer(alg = 'RS256', path = ''): Promise<OidcIssuer> {
  const keys: SigningKey[] = [await makeKey(alg)];
  let current = keys[0]!;
  const server: Server = createServer((req, res) => {
    if (!state.isUp) {
      res.writeHead(503).end();
      return;
    }
    if (req.url === `${path}/.well-known/openid-configuration`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: state.issuer, jwks_uri: `${state.issuer}/keys`, id_token_signing_alg_values_supported: [alg] }));
      return;
    }
    if (req.url === `${path}/keys`) {
      state.jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: keys.map((key) => key.jwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const state: OidcIssuer = {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    jwksFetches: 0,
    isUp: true,
    get currentKid() {
      return current.kid;
    },
    async sign(claims, options = {}) {
      // A kid the issuer does not hold is put in the header of a token signed with the current key.
      const key = keys.find((k) => k.kid === options.kid) ?? current;
      const nowS = options.nowS ?? Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ iss: state.issuer, iat: nowS, exp: nowS + (options.expiresInS ?? 3600), ...claims }).setProtectedHeader({
        alg: options.alg ?? key.alg,
        kid: options.kid ?? key.kid,
        typ: 'JWT',
      });
      return jwt.sign(key.privateKey);
    },
    async rotate(nextAlg = alg) {
      current = await makeKey(nextAlg);
      keys.push(current);
      return current.kid;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return state;
}

/**
 * The claims a Kubernetes API server puts in a projected service-account token
 * (`serviceAccountToken` volume with `audience: tollgate`).
 */
export function kubernetesClaims(namespace: string, serviceAccount: string, audience: string | string[] = 'tollgate'): JWTPayload {
  return {
    aud: audience,
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    nbf: Math.floor(Date.now() / 1000) - 5,
    'kubernetes.io': {
      namespace,
      serviceaccount: { name: serviceAccount, uid: '8a3f6c2e-7a51-4c8e-9d3b-2f1e4c5a6b7d' },
      pod: { name: `${serviceAccount}-7d9c8b6f5-x2k4q`, uid: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f' },
    },
  };
}
