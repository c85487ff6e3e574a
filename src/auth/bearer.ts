/** Why a request carries no usable bearer secret. */
export enum BearerFault {
  Missing = 1,
  Duplicate = 2,
  Malformed = 3,
}

const AUTHORIZATION = 'authorization';

/**
 * Finds the bearer secret in raw request headers (RFC 6750 §2.1). Works on `rawHeaders` because
 * Node keeps only the first of two `Authorization` headers in `req.headers`, and two must be
 * refused. The scheme is case-insensitive; spaces around the secret are tolerated.
 */
export function readBearer(rawHeaders: readonly string[]): string | BearerFault {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 13 || name.toLowerCase() !== AUTHORIZATION) continue;
    if (value !== undefined) return BearerFault.Duplicate;
    value = rawHeaders[i + 1]!;
  }
  if (value === undefined) return BearerFault.Missing;
  return parseBearerValue(value);
}

/** Parses one `Authorization` value: `Bearer <token68>`. */
export function parseBearerValue(value: string): string | BearerFault {
  let start = 0;
  while (start < value.length && value.charCodeAt(start) === 32) start++;
  if (value.length - start < 7 || value.slice(start, start + 6).toLowerCase() !== 'bearer') return BearerFault.Malformed;
  let i = start + 6;
  if (value.charCodeAt(i) !== 32) return BearerFault.Malformed;
  while (i < value.length && value.charCodeAt(i) === 32) i++;
  let end = value.length;
  while (end > i && value.charCodeAt(end - 1) === 32) end--;
  if (end === i) return BearerFault.Malformed;
  const secret = value.slice(i, end);
  return secret.includes(' ') ? BearerFault.Malformed : secret;
}
