/**
 * Checks a request target before any route is matched, so the path that was authorized is
 * byte-for-byte the path forwarded. Returns the path (with query) to forward, or undefined
 * when the target must be refused with 400.
 *
 * The target must be origin-form (RFC 9112 §3.2.1): `/`-separated segments of RFC 3986 `pchar`
 * (§3.3), then optionally `?` and a `query` (§3.4). Any other byte is refused, in the path or the
 * query: a raw `#` above all (upstreams that drop a fragment before resolving dot segments read
 * `/a/..#x` as `/`), and `%` not followed by two hex digits, whitespace, controls, `"<>[]\^\`{|}`
 * and bytes above 0x7e. Also refused: dot segments (`.`, `..`) plain or percent-encoded, encoded
 * slashes and backslashes (`%2f`, `%5c`), `%00`, double encoding (`%25`), percent-encoded bytes
 * that are not valid UTF-8 (overlong forms), and anything not starting with `/`. Also refused:
 * a segment that some upstream would still read as a dot segment or a separator (see
 * `foldsToTraversal`), such as `..;x` (Tomcat, Spring), `..%20` (servers that trim) or
 * `%EF%BC%8E%EF%BC%8E` (NFKC `..`).
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
  // Set when the segment holds `;` (raw or encoded), or encoded whitespace or a byte >= 0x80:
  // only then is the slower decode-and-normalize check worth running. Ordinary segments never set it.
  let isUnusual = false;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? 47 : path.charCodeAt(i);
    if (c === 47) {
      if (isDotSegment(path, segmentStart, i)) return undefined;
      if (isUnusual) {
        if (foldsToTraversal(path, segmentStart, i)) return undefined;
        isUnusual = false;
      }
      segmentStart = i + 1;
    } else if (c === 37 /* % */) {
      const code = hexPair(path, i + 1);
      if (code === -1) return undefined;
      if (code === 0x2f || code === 0x5c || code === 0 || code === 0x25) return undefined; // /, \, NUL, double encoding
      if (code >= 0x80) {
        hasHighBytes = true;
        isUnusual = true;
      } else if (code === 0x3b || code <= 0x20) {
        isUnusual = true;
      }
    } else if (c > 0x7e || PCHAR[c] !== 1) {
      return undefined;
    } else if (c === 59 /* ; */) {
      isUnusual = true;
    }
  }
  for (let i = end + 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */) {
      if (hexPair(path, i + 1) === -1) return undefined;
      i += 2;
    } else if (c > 0x7e || QUERY_CHAR[c] !== 1) {
      return undefined;
    }
  }
  if (queryAt !== -1 && hasMethodParameter(path, queryAt + 1)) return undefined;
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

/**
 * RFC 3986 §3.3 `pchar` less `%` (checked with its two digits): unreserved, sub-delims, `:` and
 * `@` (1 in the table). `/` separates segments and `?` ends the path, so neither is here.
 */
const PCHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") PCHAR[c.charCodeAt(0)] = 1;

/** RFC 3986 §3.4 `query`: `pchar`, `/` and `?` (a `#` would start a fragment). */
const QUERY_CHAR = PCHAR.slice();
QUERY_CHAR[47] = 1;
QUERY_CHAR[63] = 1;

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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The slow check for an unusual segment. Servers read more into a segment than RFC 3986 does:
 * Tomcat and Spring drop `;` path parameters per segment (`..;x` is `..`), Java's `trim` and
 * Python's `strip` remove whitespace (`..%20` is `..`), and some decode then NFKC-normalize
 * (U+FF0E `．`, U+2024 `․`, U+FE52 `﹒` fold to `.`, U+2025 `‥` and U+FE30 `︰` to `..`, U+FF0F
 * `／` and U+2100 `℀` (`a/c`) to a slash). So the segment is decoded, as UTF-8 and as Latin-1,
 * each with and without NFKC, and refused when any reading, cut at `;` and trimmed, is `.` or
 * `..`, or when folding brings in a `/`, `\`, `?`, `#` or `%` the plain reading did not have.
 * Three or more dots (`...`) are an ordinary name everywhere and stay allowed.
 */
function foldsToTraversal(path: string, start: number, end: number): boolean {
  const bytes: number[] = [];
  for (let i = start; i < end; i++) {
    const c = path.charCodeAt(i);
    const code = c === 37 ? hexPair(path, i + 1) : -1;
    if (code === -1) {
      bytes.push(c);
    } else {
      bytes.push(code);
      i += 2;
    }
  }
  const readings = [String.fromCharCode(...bytes)];
  try {
    readings.push(utf8.decode(Uint8Array.from(bytes)));
  } catch {
    // Not UTF-8: the Latin-1 reading is what a server would fall back to.
  }
  for (const text of readings) {
    const folded = text.normalize('NFKC');
    if (isDotsAfterCutAndTrim(text) || isDotsAfterCutAndTrim(folded)) return true;
    if (folded !== text && countDelimiters(folded) > countDelimiters(text)) return true;
  }
  return false;
}

/** True when the text, cut at its first `;` and trimmed of whitespace and controls, is `.` or `..`. */
function isDotsAfterCutAndTrim(text: string): boolean {
  const cut = text.indexOf(';');
  let from = 0;
  let to = cut === -1 ? text.length : cut;
  while (from < to && isBlank(text.charCodeAt(from))) from++;
  while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
  const length = to - from;
  if (length === 0 || length > 2) return false;
  return text.charCodeAt(from) === 46 && text.charCodeAt(to - 1) === 46;
}

/** Controls and spaces as Java's `trim` sees them, plus what JavaScript's and Python's see. */
function isBlank(c: number): boolean {
  return (
    c <= 0x20 ||
    c === 0x7f ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function countDelimiters(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 47 || c === 92 || c === 63 || c === 35 || c === 37) count++; // / \ ? # %
  }
  return count;
}

/** A query parameter name PHP reads as `_method`: it turns `.`, space and a lone `[` into `_`, drops leading spaces. */
const METHOD_NAME = /^ *[_. []method$/;

/**
 * True when the query has a `_method` parameter. Symfony and Laravel take a POST's method from
 * it (query or form body), so `POST ...?_method=DELETE` would act with a right the token may
 * lack; the same reason the override headers are dropped (proxy/headers.ts). A form body's
 * `_method` cannot be seen without buffering the upload and is not covered.
 */
function hasMethodParameter(path: string, from: number): boolean {
  // The name needs `ethod` raw, or a `%` to hide it in: ordinary queries stop here.
  if (path.indexOf('ethod', from) === -1 && path.indexOf('%', from) === -1) return false;
  for (let start = from; start < path.length; ) {
    const amp = path.indexOf('&', start);
    const end = amp === -1 ? path.length : amp;
    const equals = path.indexOf('=', start);
    const nameEnd = equals === -1 || equals > end ? end : equals;
    if (nameEnd - start >= 7) {
      const name = path
        .slice(start, nameEnd)
        .replace(/\+/g, ' ')
        .replace(/%([0-7][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      if (METHOD_NAME.test(name)) return true;
    }
    start = end + 1;
  }
  return false;
}

function reduceAbsoluteForm(target: string): string | undefined {
  const match = /^https?:\/\/[^/?#\s]+(\/[^#\s]*)?$/i.exec(target);
  if (!match) return undefined;
  return match[1] ?? '/';
}
