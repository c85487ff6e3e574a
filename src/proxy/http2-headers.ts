import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { HeadSpans } from '../http1/head-spans.js';
import { isGrpcContentType } from './grpc-status.js';

/** What the pipeline reads from an HTTP/2 request's header block, shaped as an HTTP/1.1 head. */
export interface StreamHead {
  method: string;
  /** `:path`, the request target as it came. */
  url: string;
  /** The fields as HTTP/1.1 would carry them: no pseudo-headers, `host` from `:authority`, one `cookie`. */
  rawHeaders: string[];
  authority: string | undefined;
  requestIdHeader: string | undefined;
  hasContentLength: boolean;
  isGrpc: boolean;
  /** `expect: 100-continue`: the client waits for a 100 before it sends the body. */
  expectsContinue: boolean;
}

/**
 * Maps an HTTP/2 header block (flat raw list, pseudo-headers first) onto what an HTTP/1.1 head
 * would hold (RFC 9113 §8.3.1): `:method` and `:path` become the request line, `:authority` the
 * Host (it wins over a `host` field, which is dropped), and split `cookie` fields are joined with
 * "; " (§8.2.3). nghttp2 has already refused connection-specific fields (§8.2.2).
 */
export function streamHead(raw: readonly string[]): StreamHead {
  const head: StreamHead = {
    method: '',
    url: '',
    rawHeaders: [],
    authority: undefined,
    requestIdHeader: undefined,
    hasContentLength: false,
    isGrpc: false,
    expectsContinue: false,
  };
  let host: string | undefined;
  let cookie: string | undefined;
  const fields = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ':method') head.method = value;
      else if (name === ':path') head.url = value;
      else if (name === ':authority') head.authority = value;
      continue;
    }
    switch (name) {
      case 'host':
        host ??= value;
        continue;
      case 'cookie':
        cookie = cookie === undefined ? value : `${cookie}; ${value}`;
        continue;
      case 'x-request-id':
        head.requestIdHeader ??= value;
        break;
      case 'content-length':
        head.hasContentLength = true;
        break;
      case 'content-type':
        if (!head.isGrpc) head.isGrpc = isGrpcContentType(value);
        break;
      case 'expect':
        if (value.toLowerCase() === '100-continue') head.expectsContinue = true;
        break;
    }
    fields.push(name, value);
  }
  head.authority ??= host;
  if (head.authority !== undefined) fields.unshift('host', head.authority);
  if (cookie !== undefined) fields.push('cookie', cookie);
  return head;
}

/**
 * Fields an HTTP/2 message must not carry (RFC 9113 §8.2.2), plus HTTP/1.1's hop-by-hop ones:
 * dropped from what the upstream answered before it is sent on a stream.
 */
const PER_CONNECTION_FIELDS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'http2-settings',
]);

/**
 * An HTTP/1.1 response's fields as HTTP/2 response headers, a flat name/value list (what
 * node:http2 sends without copying an object): names lower-case (§8.2.1), hop-by-hop fields and
 * those its Connection names dropped, `:status` first, our x-request-id instead of the
 * upstream's, and the fields of `extra` (a flat list) instead of the upstream's of the same name.
 */
export function http2ResponseHeaders(status: number, raw: readonly string[], requestId: string, extra?: readonly string[]): string[] {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    const value = raw[i + 1]!;
    // The common Connection names no field beyond the hop-by-hop ones: no set to build.
    if (namesNoOtherField(value)) continue;
    named ??= new Set();
    for (const part of value.split(',')) named.add(part.trim().toLowerCase());
  }
  const out = [':status', String(status)];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (named?.has(name) || !isRelayed(name, extra)) continue;
    out.push(name, raw[i + 1]!);
  }
  return withOurFields(out, requestId, extra);
}

/**
 * The same list as `http2ResponseHeaders`, made from a head held as spans of the read that
 * carried it (see UpstreamUser.responseHeadSpans): no string per name for the common fields and
 * none for the fields dropped. Undefined when a Connection field names a field (other than
 * keep-alive), which the string path then drops.
 */
export function http2ResponseHeadersOf(status: number, spans: HeadSpans, requestId: string, extra?: readonly string[]): string[] | undefined {
  const out = [':status', String(status)];
  const chunk = spans.chunk;
  if (chunk !== undefined) {
    const at = spans.at;
    for (let i = 0; i < spans.count; i++) {
      const nameStart = at[i * 4]!;
      const nameEnd = at[i * 4 + 1]!;
      const name = commonName(chunk, nameStart, nameEnd) ?? chunk.toString('latin1', nameStart, nameEnd).toLowerCase();
      const valueStart = at[i * 4 + 2]!;
      const valueEnd = trimmedEnd(chunk, valueStart, at[i * 4 + 3]!);
      if (name === 'connection' && !namesNoOtherField(chunk.toString('latin1', valueStart, valueEnd))) return undefined;
      if (!isRelayed(name, extra)) continue;
      // As FieldList makes it for the string path: one byte a character.
      out.push(name, chunk.toString('latin1', valueStart, valueEnd));
    }
  }
  return withOurFields(out, requestId, extra);
}

/** Whether an upstream response field (its name lower-case) goes on to the HTTP/2 client. */
function isRelayed(name: string, extra: readonly string[] | undefined): boolean {
  if (PER_CONNECTION_FIELDS.has(name) || name === 'x-request-id' || name === 'host') return false;
  return extra === undefined || !isNamedIn(extra, name);
}

/** Appends x-request-id and the fields of `extra` to a response list. */
function withOurFields(out: string[], requestId: string, extra: readonly string[] | undefined): string[] {
  out.push('x-request-id', requestId);
  if (extra !== undefined) for (let i = 0; i < extra.length; i++) out.push(extra[i]!);
  return out;
}

/**
 * A Connection value that names no field but keep-alive (in any case, spaces around), which is
 * dropped anyway; node:http sends it with every kept-alive response. (`close` is left to the set:
 * it drops a field named close too.)
 */
function namesNoOtherField(value: string): boolean {
  const word = value.trim();
  return word.length === 0 || (word.length === 10 && word.toLowerCase() === 'keep-alive');
}

/** Response fields most upstreams send, lower-case, by length: their names are not made anew per response. */
const COMMON_NAMES_BY_LENGTH: string[][] = [];
for (const name of [
  'age',
  'date',
  'etag',
  'vary',
  'server',
  'expires',
  'location',
  'connection',
  'keep-alive',
  'set-cookie',
  'content-type',
  'x-request-id',
  'cache-control',
  'last-modified',
  'accept-ranges',
  'content-length',
  'content-encoding',
  'transfer-encoding',
]) {
  const sameLength = COMMON_NAMES_BY_LENGTH[name.length];
  if (sameLength === undefined) COMMON_NAMES_BY_LENGTH[name.length] = [name];
  else sameLength.push(name);
}

/** `chunk[start, end)` as one of COMMON_NAMES_BY_LENGTH when it is one in any case; else undefined. */
function commonName(chunk: Buffer, start: number, end: number): string | undefined {
  const names = COMMON_NAMES_BY_LENGTH[end - start];
  if (names === undefined) return undefined;
  for (let n = 0; n < names.length; n++) {
    const name = names[n]!;
    let i = 0;
    // A name is a token (llhttp checked): `| 0x20` lower-cases its letters and leaves `-` as it is.
    while (i < name.length && (chunk[start + i]! | 0x20) === name.charCodeAt(i)) i++;
    if (i === name.length) return name;
  }
  return undefined;
}

/** A value's end without its trailing spaces and tabs (llhttp has skipped the leading ones; trimValues drops these). */
function trimmedEnd(chunk: Buffer, start: number, end: number): number {
  while (end > start && (chunk[end - 1] === 0x20 || chunk[end - 1] === 0x09)) end--;
  return end;
}

/**
 * An HTTP/2 peer's header block passed on to another HTTP/2 peer (the gRPC upstream's response
 * and trailers): pseudo-headers and connection-specific fields dropped, the rest as it came.
 */
export function relayedHeaders(headers: IncomingHttpHeaders, extra?: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out = Object.create(null) as OutgoingHttpHeaders;
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 0x3a || PER_CONNECTION_FIELDS.has(name)) continue;
    out[name] = headers[name];
  }
  if (extra !== undefined) Object.assign(out, extra);
  return out;
}

/**
 * The gRPC upstream's response headers as the client gets them, a flat name/value list (what
 * node:http2 sends without copying an object): pseudo-headers and connection-specific fields
 * dropped, `:status` first, our x-request-id instead of the upstream's, and the fields of `extra`
 * (a flat list) instead of the upstream's of the same name. A field node:http2 gave as a list
 * (set-cookie) goes as one field per value, as the header object would send it.
 */
export function relayedHeaderList(headers: IncomingHttpHeaders, status: number, requestId: string, extra?: readonly string[]): string[] {
  const out = [':status', String(status)];
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a || PER_CONNECTION_FIELDS.has(name) || name === 'x-request-id' || (extra !== undefined && isNamedIn(extra, name))) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  out.push('x-request-id', requestId);
  if (extra !== undefined) for (let i = 0; i < extra.length; i++) out.push(extra[i]!);
  return out;
}

/** True when `name` is one of the names of a flat name/value list. */
function isNamedIn(list: readonly string[], name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}

/** HTTP/1.1 trailer fields as HTTP/2 trailers: lower-case, no pseudo or connection-specific field. */
export function http2Trailers(raw: readonly string[]): OutgoingHttpHeaders {
  const out = Object.create(null) as OutgoingHttpHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (PER_CONNECTION_FIELDS.has(name) || name.charCodeAt(0) === 0x3a || name === 'content-length' || name === 'host') continue;
    const seen = out[name];
    out[name] = seen === undefined ? raw[i + 1] : Array.isArray(seen) ? [...seen, raw[i + 1]!] : [String(seen), raw[i + 1]!];
  }
  return out;
}
