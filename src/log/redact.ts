/**
 * Keeps secrets out of logged text. A Tollgate secret is `tgr_`/`tgp_` + 49 base62 characters
 * (src/tokens/secret.ts); clients put them where they do not belong (a query parameter, a request
 * id, a path), and other credentials ride in query parameters by name (`?api_key=`). The checks
 * run on every access-log line, so each starts with an indexOf that ordinary text fails.
 */

/** What a redacted value is replaced by. */
export const REDACTED = '[redacted]';

/** A secret's shape, without the checksum: a mistyped secret is still worth hiding. */
const SECRET_SHAPE = /tg[rp]_[0-9A-Za-z]{49}/;
const SECRET_SHAPES = /tg[rp]_[0-9A-Za-z]{49}/g;

/**
 * A query parameter named like a credential: one of these words, alone or as the last word of
 * the name (`access_token`, `client_secret`, `X-Amz-Signature`, `x-api-key`), any case, with
 * optional PHP-style `[]` suffixes. Sticky, so it is tried in place without slicing the name out.
 */
const CREDENTIAL_NAME = /(?:[^&=]*[-_.])?(?:token|key|apikey|secret|password|passwd|pwd|sig|signature|auth|jwt|credentials?)(?:\[[^\]&=]*\])*(?=[=&]|$)/iy;

/** Whether `text[from, to)` could hold a secret: every secret has a `_`, raw or as `%5F`. */
function mayHoldSecret(text: string, from: number, to: number): boolean {
  const underscore = text.indexOf('_', from);
  if (underscore !== -1 && underscore < to) return true;
  for (let at = text.indexOf('%5', from); at !== -1 && at < to - 2; at = text.indexOf('%5', at + 1)) {
    const c = text.charCodeAt(at + 2);
    if (c === 70 /* F */ || c === 102 /* f */) return true;
  }
  return false;
}

/** Decodes the `%XX` escapes of ASCII characters only (a secret is ASCII); never throws. */
function decodeAscii(text: string): string {
  return text.replace(/%([0-7][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** True when the text holds a secret-shaped string, raw or behind percent-encoding. */
export function containsSecret(text: string): boolean {
  if (!mayHoldSecret(text, 0, text.length)) return false;
  return SECRET_SHAPE.test(text) || (text.indexOf('%') !== -1 && SECRET_SHAPE.test(decodeAscii(text)));
}

/**
 * The text with every secret-shaped string replaced by REDACTED. Text that hides one behind
 * percent-encoding comes back with its ASCII escapes decoded, so the redaction can be seen.
 */
export function redactSecrets(text: string): string {
  if (!mayHoldSecret(text, 0, text.length)) return text;
  let out = SECRET_SHAPE.test(text) ? text.replace(SECRET_SHAPES, REDACTED) : text;
  if (out.indexOf('%') !== -1) {
    const decoded = decodeAscii(out);
    if (SECRET_SHAPE.test(decoded)) out = decoded.replace(SECRET_SHAPES, REDACTED);
  }
  return out;
}

function isCredentialName(target: string, from: number, to: number): boolean {
  if (from === to) return false;
  const percent = target.indexOf('%', from);
  if (percent !== -1 && percent < to) {
    // An encoded name (`access%5Ftoken`) is decoded by the upstream, so it is decoded here too.
    const name = decodeAscii(target.slice(from, to));
    CREDENTIAL_NAME.lastIndex = 0;
    return CREDENTIAL_NAME.test(name) && CREDENTIAL_NAME.lastIndex === name.length;
  }
  CREDENTIAL_NAME.lastIndex = from;
  return CREDENTIAL_NAME.test(target) && CREDENTIAL_NAME.lastIndex === to;
}

/**
 * A request target as it may be logged: the values of credential-named query parameters replaced
 * by REDACTED, and secret-shaped strings anywhere in the path or query redacted. Returns the
 * target itself (no copy) when there is nothing to hide.
 */
export function redactTarget(target: string): string {
  const queryAt = target.indexOf('?');
  if (queryAt === -1) return redactSecrets(target);
  let out: string | undefined;
  let copiedTo = queryAt + 1;
  for (let start = queryAt + 1; start <= target.length; ) {
    const amp = target.indexOf('&', start);
    const end = amp === -1 ? target.length : amp;
    const equals = target.indexOf('=', start);
    const nameEnd = equals === -1 || equals > end ? end : equals;
    if (nameEnd < end) {
      const valueStart = nameEnd + 1;
      let value: string | undefined;
      if (isCredentialName(target, start, nameEnd)) value = REDACTED;
      else if (mayHoldSecret(target, valueStart, end)) {
        const raw = target.slice(valueStart, end);
        const redacted = redactSecrets(raw);
        if (redacted !== raw) value = redacted;
      }
      if (value !== undefined) {
        out = (out ?? '') + target.slice(copiedTo, valueStart) + value;
        copiedTo = end;
      }
    }
    start = end + 1;
  }
  if (mayHoldSecret(target, 0, queryAt)) {
    const path = target.slice(0, queryAt);
    const redacted = redactSecrets(path);
    if (redacted !== path) return `${redacted}?${out ?? ''}${target.slice(copiedTo)}`;
  }
  return out === undefined ? target : target.slice(0, queryAt + 1) + out + target.slice(copiedTo);
}
