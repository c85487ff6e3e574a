import { X509Certificate } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError } from '../config/load.js';
import type { Logger } from '../log/logger.js';

/** What a served certificate is, for the log and the expiry metric (never the key). */
export interface CertificateFacts {
  serial: string;
  /** notAfter, in seconds since the epoch. */
  expiresAt: number;
  subject: string;
}

/** A certificate and key read and checked together. */
export interface CertificateMaterial {
  options: SecureContextOptions;
  facts: CertificateFacts;
}

/** Why a file could not be used; `key` is the config key it belongs to. */
export class CertificateError extends Error {
  readonly code = 'TG_TLS_CERTIFICATE';
  constructor(
    readonly key: 'proxy.tls.cert' | 'proxy.tls.key',
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}

/**
 * Reads the PEM files and proves they can serve: the chain parses, the key parses, and the key
 * belongs to the leaf certificate (createSecureContext checks that, with OpenSSL's own
 * X509_check_private_key). The messages say which file and what is wrong, never the key's bytes.
 */
export function readCertificate(certPath: string, keyPath: string): CertificateMaterial {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certPath);
  } catch (err) {
    throw new CertificateError('proxy.tls.cert', `cannot read ${certPath} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    key = readFileSync(keyPath);
  } catch (err) {
    throw new CertificateError('proxy.tls.key', `cannot read ${keyPath} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new CertificateError('proxy.tls.cert', `${certPath} holds no PEM certificate`);
  }
  const options: SecureContextOptions = { cert, key, minVersion: 'TLSv1.2' };
  try {
    createSecureContext(options);
  } catch (err) {
    const reason = (err as Error).message;
    if (/key values mismatch/i.test(reason)) throw new CertificateError('proxy.tls.key', `${keyPath} is not the key of the certificate in ${certPath}`);
    // OpenSSL's reason names the part that failed (a PEM routine, a bad key), never the bytes.
    throw new CertificateError('proxy.tls.key', `${keyPath} holds no usable private key (${reason.split('\n')[0]})`);
  }
  return { options, facts: { serial: leaf.serialNumber, expiresAt: Math.floor(Date.parse(leaf.validTo) / 1000), subject: leaf.subject.replace(/\n/g, ', ') } };
}

/** As readCertificate, for the start: a bad file is a config fault (exit 2) naming its key. */
export function readCertificateAtStart(certPath: string, keyPath: string): CertificateMaterial {
  try {
    return readCertificate(certPath, keyPath);
  } catch (err) {
    if (err instanceof CertificateError) throw new ConfigError([err.message]);
    throw err;
  }
}

/** Where a reloaded certificate goes: `tls.Server.setSecureContext`. */
export interface CertificateTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/** How long the files must be still before they are read: a rotation writes several. */
const DEBOUNCE_MS = 200;
/**
 * The longest a burst of events may hold the read back: a folder written to all the time (a
 * log beside the certificate) would otherwise push a trailing debounce away for ever.
 */
const MAX_WAIT_MS = 1000;

/**
 * Serves the certificate in `proxy.tls.cert`/`key` and follows its rotation. The directories are
 * watched, not the files: a Kubernetes Secret mounted as files is rotated by swapping the `..data`
 * symlink, which replaces no watched inode and raises no event on the old file. New connections
 * get the new certificate (setSecureContext); open ones keep the one they shook hands with. A bad
 * pair keeps the old one and is logged at error; the expiry metric shows what is really served.
 */
export class CertificateWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the first event of the burst now being waited out came (Date.now()). */
  private burstStartedAt: number | undefined;
  private current: CertificateFacts;
  private clientCa: Buffer | undefined;

  /**
   * `clientCa`: with identity.mtls, the CA bundle client certificates are verified against, at its
   * path and as read at start; it is followed like the certificate, and rides in the same secure context.
   */
  constructor(
    private readonly certPath: string,
    private readonly keyPath: string,
    initial: CertificateMaterial,
    private readonly target: CertificateTarget,
    private readonly logger: Logger,
    private readonly clientCaFile?: { path: string; pem: Buffer },
  ) {
    this.current = initial.facts;
    this.clientCa = clientCaFile?.pem;
  }

  /** The certificate served to new connections now. */
  get served(): CertificateFacts {
    return this.current;
  }

  start(): void {
    const paths = [this.certPath, this.keyPath, ...(this.clientCaFile === undefined ? [] : [this.clientCaFile.path])];
    for (const dir of new Set(paths.map((path) => dirname(path)))) {
      const watcher = watch(dir, { persistent: false }, () => this.changed());
      watcher.on('error', (err) => this.logger.error({ dir, err: err.message }, 'cannot watch the TLS certificate directory; rotation will not be seen'));
      this.watchers.push(watcher);
    }
  }

  private changed(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const now = Date.now();
    this.burstStartedAt ??= now;
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, this.burstStartedAt + MAX_WAIT_MS - now));
    this.timer = setTimeout(() => this.reload(), wait);
    this.timer.unref();
  }

  /** Reads the files again; public so an operator signal or a test can ask for it. */
  reload(): boolean {
    this.timer = undefined;
    this.burstStartedAt = undefined;
    let material: CertificateMaterial;
    try {
      material = readCertificate(this.certPath, this.keyPath);
    } catch (err) {
      this.logger.error(
        { err: (err as Error).message, serial: this.current.serial, expiresAt: new Date(this.current.expiresAt * 1000).toISOString() },
        'TLS certificate files unusable: still serving the previous certificate',
      );
      return false;
    }
    let clientCa = this.clientCa;
    if (this.clientCaFile !== undefined) {
      try {
        clientCa = readFileSync(this.clientCaFile.path);
        new X509Certificate(clientCa);
      } catch (err) {
        // The previous CA keeps verifying: an unreadable bundle must not open the port to any certificate.
        this.logger.error(
          { err: (err as Error).message, path: this.clientCaFile.path },
          'client CA file unusable: still verifying client certificates with the previous one',
        );
        clientCa = this.clientCa;
      }
    }
    const isSameCa = clientCa === this.clientCa || (clientCa !== undefined && this.clientCa !== undefined && clientCa.equals(this.clientCa));
    if (material.facts.serial === this.current.serial && material.facts.expiresAt === this.current.expiresAt && isSameCa) return true;
    this.target.setSecureContext(clientCa === undefined ? material.options : { ...material.options, ca: clientCa });
    if (!isSameCa) this.logger.info({ path: this.clientCaFile?.path }, 'client CA reloaded');
    this.clientCa = clientCa;
    this.current = material.facts;
    this.logger.info(
      { serial: material.facts.serial, subject: material.facts.subject, expiresAt: new Date(material.facts.expiresAt * 1000).toISOString() },
      'TLS certificate reloaded',
    );
    return true;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }
}
