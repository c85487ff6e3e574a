import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MadeCertificate {
  cert: string;
  key: string;
  /** Upper-case hex, as X509Certificate.serialNumber says it. */
  serial: string;
  /** notAfter, epoch seconds. */
  expiresAt: number;
}

/** A self-signed P-256 certificate for 127.0.0.1 and localhost, made by Debian's openssl. */
export function makeCertificate(days = 30): MadeCertificate {
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      String(days),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const x509 = new X509Certificate(cert);
  return { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8'), serial: x509.serialNumber, expiresAt: Math.floor(Date.parse(x509.validTo) / 1000) };
}

/**
 * A directory laid out as the kubelet mounts a Secret: `tls.crt` and `tls.key` are symlinks into
 * `..data`, itself a symlink to a timestamped directory, so a rotation is one atomic rename of
 * `..data` (the kubelet's AtomicWriter).
 */
export class SecretVolume {
  private version = 0;
  readonly certPath: string;
  readonly keyPath: string;

  constructor(
    readonly dir: string,
    first: { cert: string; key: string },
  ) {
    this.certPath = join(dir, 'tls.crt');
    this.keyPath = join(dir, 'tls.key');
    const data = this.write(first);
    symlinkSync(data, join(dir, '..data'));
    symlinkSync('..data/tls.crt', this.certPath);
    symlinkSync('..data/tls.key', this.keyPath);
  }

  private write(files: { cert: string; key: string }): string {
    const name = `..2026_11_24_${String(++this.version).padStart(3, '0')}`;
    mkdirSync(join(this.dir, name));
    writeFileSync(join(this.dir, name, 'tls.crt'), files.cert);
    writeFileSync(join(this.dir, name, 'tls.key'), files.key);
    return name;
  }

  /** Swaps `..data` to a new version holding these files. */
  rotate(files: { cert: string; key: string }): void {
    const data = this.write(files);
    symlinkSync(data, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
  }
}

export interface ClientChain {
  /** The CA bundle Tollgate trusts (identity.mtls.clientCa): the root alone. */
  caCert: string;
  /** The leaf's PEM followed by the intermediate's: what a client presents. */
  chain: string;
  key: string;
}

/**
 * A client certificate chain made by Debian's openssl: a root CA, an intermediate CA it signs,
 * and a leaf for TLS client authentication whose URI SAN is `uri` (a SPIFFE ID) and CN `cn`.
 */
export function makeClientChain(uri: string, cn = 'workload'): ClientChain {
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  const at = (name: string) => join(dir, name);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    at('root.key'),
    '-out',
    at('root.pem'),
    '-days',
    '30',
    '-subj',
    '/CN=test root CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  run(['req', ...ec, '-keyout', at('int.key'), '-out', at('int.csr'), '-subj', '/CN=test intermediate CA']);
  writeFileSync(at('int.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  run([
    'x509',
    '-req',
    '-in',
    at('int.csr'),
    '-CA',
    at('root.pem'),
    '-CAkey',
    at('root.key'),
    '-CAcreateserial',
    '-out',
    at('int.pem'),
    '-days',
    '30',
    '-extfile',
    at('int.ext'),
  ]);
  run(['req', ...ec, '-keyout', at('leaf.key'), '-out', at('leaf.csr'), '-subj', `/CN=${cn}`]);
  writeFileSync(at('leaf.ext'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:${uri}\n`);
  run([
    'x509',
    '-req',
    '-in',
    at('leaf.csr'),
    '-CA',
    at('int.pem'),
    '-CAkey',
    at('int.key'),
    '-CAcreateserial',
    '-out',
    at('leaf.pem'),
    '-days',
    '7',
    '-extfile',
    at('leaf.ext'),
  ]);
  return {
    caCert: readFileSync(at('root.pem'), 'utf8'),
    chain: readFileSync(at('leaf.pem'), 'utf8') + readFileSync(at('int.pem'), 'utf8'),
    key: readFileSync(at('leaf.key'), 'utf8'),
  };
}
