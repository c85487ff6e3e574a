import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { BASE62_DIGITS, base62FromBytes, isBase62 } from './base62.js';

export type TokenKind = 'repository' | 'personal';

const BODY_LENGTH = 43; // 62^43 > 2^256, so 32 random bytes always fit
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32
const HEAD_LENGTH = 4; // "tgr_" or "tgp_"
/** Length of every well-formed secret. */
export const SECRET_LENGTH = HEAD_LENGTH + BODY_LENGTH + CHECKSUM_LENGTH;
/** Length of the display prefix kept in the store (docs/tokens.md). */
export const PREFIX_LENGTH = 12;

/** Six base62 digits of the CRC32; plain number arithmetic (a CRC32 fits a double exactly). */
function checksum(text: string): string {
  let value = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62_DIGITS[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** Makes a new secret of the given kind from 256 bits of CSPRNG output. */
export function generateSecret(kind: TokenKind): string {
  const head = kind === 'repository' ? 'tgr_' : 'tgp_';
  const body = head + base62FromBytes(randomBytes(32), BODY_LENGTH);
  return body + checksum(body);
}

/**
 * Returns the kind a secret claims when its shape and checksum are right, else undefined.
 * Runs before any cache or store lookup, so garbage costs no I/O.
 */
export function parseSecret(secret: string): TokenKind | undefined {
  if (!looksLikeSecret(secret) || !isBase62(secret, HEAD_LENGTH, SECRET_LENGTH)) return undefined;
  const kind: TokenKind = secret.charCodeAt(2) === 114 /* r */ ? 'repository' : 'personal';
  const split = SECRET_LENGTH - CHECKSUM_LENGTH;
  return checksum(secret.slice(0, split)) === secret.slice(split) ? kind : undefined;
}

/** SHA-256 of the secret as lowercase hex: the only form a secret is ever stored or looked up in. */
export function hashSecret(secret: string): string {
  // The one-shot form: no Hash object per call (this runs on every proxied request).
  return hash('sha256', secret, 'hex');
}

/** The display prefix of a secret (`tgr_AbCdEfGh`), safe to store and show. */
export function secretPrefix(secret: string): string {
  return secret.slice(0, PREFIX_LENGTH);
}

/**
 * The token id a hash maps to: its first 16 hex digits. Deriving the id from the hash lets one
 * store key (by id) serve both lookups without a second index read on the hot path; the full hash
 * is still compared before a lookup counts as a match.
 */
export function idFromHash(hash: string): string {
  return hash.slice(0, 16);
}

/**
 * Equality of two hex hashes that looks at every character whatever the first difference, so
 * the time taken does not tell how much of a hash matched. Compares char codes in place rather
 * than through timingSafeEqual, which needs two Buffers per call on the hot path.
 */
export function hashesEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Whether a string has a secret's length and head (`tgr_`/`tgp_`): the cheap test that runs
 * before hashing. The checksum is checked only when the hash is not cached, since a cached hash
 * belongs to a real token.
 */
export function looksLikeSecret(secret: string): boolean {
  if (secret.length !== SECRET_LENGTH) return false;
  const letter = secret.charCodeAt(2);
  return (
    secret.charCodeAt(0) === 116 /* t */ &&
    secret.charCodeAt(1) === 103 /* g */ &&
    secret.charCodeAt(3) === 95 /* _ */ &&
    (letter === 114 /* r */ || letter === 112) /* p */
  );
}
