export const BASE62_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Encodes an unsigned integer as exactly `width` base62 digits (left-padded with '0'). */
function base62Fixed(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62_DIGITS[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out;
}

/** Encodes bytes as exactly `width` base62 digits; the caller picks a width that holds every value. */
export function base62FromBytes(bytes: Uint8Array, width: number): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return base62Fixed(value, width);
}

/** True when every character of `text` from `start` to `end` is a base62 digit. */
export function isBase62(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    const isDigit = c >= 48 && c <= 57;
    const isUpper = c >= 65 && c <= 90;
    const isLower = c >= 97 && c <= 122;
    if (!isDigit && !isUpper && !isLower) return false;
  }
  return true;
}
