/**
 * Checks a request target before any route is matched, so the path that was authorized is
 * byte-for-byte the path forwarded. Returns the path (with query) to forward, or undefined
 * when the target must be refused with 400.
 *
 * Refused: dot segments (`.`, `..`) plain or percent-encoded, encoded slashes and backslashes
 * (`%2f`, `%5c`), raw backslashes, NUL (raw or `%00`), double encoding (`%25`), percent-encoded
 * bytes that are not valid UTF-8 (overlong forms), and anything not starting with `/`.
 * An absolute-form target (`http://host/path`, RFC 9112 §3.2.2) is reduced to its path.
 */
export function checkTarget(target: string): string | undefined {
  let path = target;
  if (path.charCodeAt(0) !== 47 /* / */) {
    const reduced = reduceAbsoluteForm(path);
    if (reduced === undefined) return undefined;
    path = reduced;
  }
  if (path.charCodeAt(1) === 47) return undefined; // "//host" would read as an authority upstream
  const queryAt = path.indexOf('?');
  const end = queryAt === -1 ? path.length : queryAt;
  let segmentStart = 1;
  let hasHighBytes = false;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? 47 : path.charCodeAt(i);
    if (c === 47) {
      if (isDotSegment(path, segmentStart, i)) return undefined;
      segmentStart = i + 1;
    } else if (c === 92 /* \ */ || c === 0) {
      return undefined;
    } else if (c === 37 /* % */) {
      const code = hexPair(path, i + 1);
      if (code === -1) return undefined;
      if (code === 0x2f || code === 0x5c || code === 0 || code === 0x25) return undefined; // /, \, NUL, double encoding
      if (code >= 0x80) hasHighBytes = true;
    }
  }
  for (let i = end; i < path.length; i++) {
    if (path.charCodeAt(i) === 0) return undefined;
  }
  // Percent-encoded bytes that are not valid UTF-8 (overlong forms such as %C0%AE for ".")
  // may be decoded differently upstream: refuse them. JavaScript's decoder rejects them all.
  if (hasHighBytes) {
    try {
      decodeURIComponent(path.slice(0, end));
    } catch {
      return undefined;
    }
  }
  return path;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function hexPair(text: string, at: number): number {
  const hi = hexValue(text.charCodeAt(at));
  const lo = hexValue(text.charCodeAt(at + 1));
  return hi === -1 || lo === -1 ? -1 : hi * 16 + lo;
}

/** True for `.`, `..`, and their percent-encoded spellings (`%2e`, `.%2E`, ...). */
function isDotSegment(path: string, start: number, end: number): boolean {
  let dots = 0;
  let i = start;
  while (i < end) {
    if (path.charCodeAt(i) === 46) {
      i += 1;
    } else if (path.charCodeAt(i) === 37 && hexPair(path, i + 1) === 0x2e) {
      i += 3;
    } else {
      return false;
    }
    dots++;
  }
  return dots === 1 || dots === 2;
}

function reduceAbsoluteForm(target: string): string | undefined {
  const match = /^https?:\/\/[^/?#\s]+(\/[^#\s]*)?$/i.exec(target);
  if (!match) return undefined;
  return match[1] ?? '/';
}
