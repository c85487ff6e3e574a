import { createRequire } from 'node:module';

/**
 * HTTP/1 framing by llhttp, the parser `node:http` runs natively, here as the WebAssembly build
 * that ships inside the undici package we pin (`lib/llhttp/`). undici instantiates it for
 * responses; `llhttp_alloc(TYPE_REQUEST)` gives a request parser from the same module. No
 * lenient flag is ever set: CL+TE, duplicate Content-Length, obs-fold, bare LF, a space before
 * a colon and a Transfer-Encoding other than a final `chunked` are all errors, as in `node:http`.
 * test/http1/llhttp-module.test.ts checks the module is still where we load it from.
 *
 * One WebAssembly instance serves every parser of the process: callbacks name the parser by
 * its pointer, and only one `execute` runs at a time (JavaScript is single-threaded), so the
 * parser and chunk being executed are module state. Spans handed to callbacks are views of the
 * caller's own chunk, not copies of WebAssembly memory.
 */

export const TYPE_REQUEST = 1;
export const TYPE_RESPONSE = 2;

/** llhttp error numbers we act on (llhttp's `ERROR` enum). */
export const ERROR_OK = 0;
export const ERROR_PAUSED = 21;
export const ERROR_PAUSED_UPGRADE = 22;
export const ERROR_USER = 24;

/** What `on_headers_complete` may return: go on, or the message has no body (a response to HEAD). */
export const HEADERS_GO_ON = 0;
export const HEADERS_SKIP_BODY = 1;

interface Llhttp {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(parser: number): void;
  llhttp_execute(parser: number, data: number, length: number): number;
  llhttp_finish(parser: number): number;
  llhttp_resume(parser: number): void;
  llhttp_resume_after_upgrade(parser: number): void;
  llhttp_reset(parser: number): void;
  llhttp_get_error_pos(parser: number): number;
  llhttp_get_error_reason(parser: number): number;
  llhttp_get_method(parser: number): number;
  llhttp_method_name(method: number): number;
  llhttp_get_http_major(parser: number): number;
  llhttp_get_http_minor(parser: number): number;
  llhttp_should_keep_alive(parser: number): number;
  llhttp_message_needs_eof(parser: number): number;
}

const require = createRequire(import.meta.url);
/** Where undici keeps the two builds; loaded by path, so an undici upgrade that moves them fails a test. */
export const LLHTTP_MODULES = ['undici/lib/llhttp/llhttp_simd-wasm.js', 'undici/lib/llhttp/llhttp-wasm.js'] as const;

let current: Http1Parser | undefined;
let currentChunk: Buffer = Buffer.alloc(0);
let currentPtr = 0;

function compile(): WebAssembly.Module {
  let lastError: unknown;
  for (const path of LLHTTP_MODULES) {
    try {
      return new WebAssembly.Module(require(path) as Uint8Array<ArrayBuffer>);
    } catch (err) {
      lastError = err; // the SIMD build needs a CPU and engine with SIMD; the plain one always works
    }
  }
  throw lastError;
}

const instance = new WebAssembly.Instance(compile(), {
  env: {
    wasm_on_message_begin: () => current!.onMessageBegin(),
    wasm_on_url: (_p: number, at: number, length: number) => current!.onUrl(currentChunk, at - currentPtr, at - currentPtr + length),
    wasm_on_status: () => 0,
    wasm_on_header_field: (_p: number, at: number, length: number) => current!.onHeaderField(currentChunk, at - currentPtr, at - currentPtr + length),
    wasm_on_header_value: (_p: number, at: number, length: number) => current!.onHeaderValue(currentChunk, at - currentPtr, at - currentPtr + length),
    wasm_on_headers_complete: (_p: number, status: number, upgrade: number, keepAlive: number) =>
      current!.onHeadersComplete(status, upgrade === 1, keepAlive === 1),
    wasm_on_body: (_p: number, at: number, length: number) => current!.onBody(currentChunk, at - currentPtr, at - currentPtr + length),
    wasm_on_message_complete: () => current!.onMessageComplete(),
  },
});
const llhttp = instance.exports as unknown as Llhttp;

/** One buffer in WebAssembly memory that every execute copies its chunk into, grown as needed. */
let scratchPtr = 0;
let scratchSize = 0;
let scratch: Uint8Array = new Uint8Array(0);

function copyIn(chunk: Buffer): number {
  if (chunk.length > scratchSize) {
    if (scratchPtr !== 0) llhttp.free(scratchPtr);
    scratchSize = Math.ceil(chunk.length / 16384) * 16384;
    scratchPtr = llhttp.malloc(scratchSize);
  }
  // malloc may grow the memory, which detaches earlier views (their length becomes 0). Compared
  // by length and offset: reading `.buffer` of either costs a call into the engine per execute.
  if (scratch.length !== scratchSize || scratch.byteOffset !== scratchPtr) {
    scratch = new Uint8Array(llhttp.memory.buffer, scratchPtr, scratchSize);
  }
  scratch.set(chunk);
  return scratchPtr;
}

function cString(ptr: number): string {
  if (ptr === 0) return '';
  const bytes = new Uint8Array(llhttp.memory.buffer, ptr);
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, Math.max(end, 0))).toString('latin1');
}

const METHOD_NAMES = new Map<number, string>();

/** What one `execute` ended with. */
export type ExecuteResult =
  | { kind: 'ok' }
  /** Stopped by a callback (a message ended): `rest` is the unparsed tail of the chunk. */
  | { kind: 'paused'; rest: Buffer; upgrade: boolean }
  | { kind: 'error'; code: number; reason: string };

const OK: ExecuteResult = { kind: 'ok' };

/** The rest of a read that ended with its message: shared, and never written to (it holds no byte). */
const NO_REST = Buffer.alloc(0);

/**
 * One llhttp parser. Subclasses receive spans as (chunk, start, end) so they copy only what they
 * keep: header names and values as latin1 strings (as `node:http` does), bodies as views.
 * A callback returns 0 to go on, ERROR_PAUSED to stop after this message, or ERROR_USER to fail.
 */
export abstract class Http1Parser {
  private ptr: number;

  constructor(type: number) {
    this.ptr = llhttp.llhttp_alloc(type);
  }

  abstract onMessageBegin(): number;
  abstract onUrl(chunk: Buffer, start: number, end: number): number;
  abstract onHeaderField(chunk: Buffer, start: number, end: number): number;
  abstract onHeaderValue(chunk: Buffer, start: number, end: number): number;
  abstract onHeadersComplete(status: number, upgrade: boolean, keepAlive: boolean): number;
  abstract onBody(chunk: Buffer, start: number, end: number): number;
  abstract onMessageComplete(): number;

  execute(chunk: Buffer): ExecuteResult {
    // A callback may end an exchange whose end starts another parser (a pipelined request
    // waiting on the upstream's response): that inner execute gets its own copy, since the
    // outer one is still reading the shared buffer.
    const nested = current !== undefined;
    const ptr = nested ? llhttp.malloc(Math.max(1, chunk.length)) : copyIn(chunk);
    if (nested) new Uint8Array(llhttp.memory.buffer, ptr, chunk.length).set(chunk);
    const outer = current;
    const outerChunk = currentChunk;
    const outerPtr = currentPtr;
    current = this;
    currentChunk = chunk;
    currentPtr = ptr;
    let code: number;
    try {
      code = llhttp.llhttp_execute(this.ptr, ptr, chunk.length);
    } finally {
      current = outer;
      currentChunk = outerChunk;
      currentPtr = outerPtr;
      if (nested) llhttp.free(ptr);
    }
    if (code === ERROR_OK) return OK;
    if (code === ERROR_PAUSED || code === ERROR_PAUSED_UPGRADE) {
      // Most messages end with their read: the empty rest is one shared buffer, not a view made
      // per message (twice per proxied request: the request's end and the response's).
      const at = llhttp.llhttp_get_error_pos(this.ptr) - ptr;
      return { kind: 'paused', rest: at >= chunk.length ? NO_REST : chunk.subarray(at), upgrade: code === ERROR_PAUSED_UPGRADE };
    }
    return { kind: 'error', code, reason: cString(llhttp.llhttp_get_error_reason(this.ptr)) };
  }

  /** The peer closed: a close-delimited body ends here; anything else unfinished is an error. */
  finish(): ExecuteResult {
    const outer = current;
    current = this;
    let code: number;
    try {
      code = llhttp.llhttp_finish(this.ptr);
    } finally {
      current = outer;
    }
    if (code === ERROR_OK || code === ERROR_PAUSED) return OK;
    return { kind: 'error', code, reason: cString(llhttp.llhttp_get_error_reason(this.ptr)) };
  }

  resume(upgrade: boolean): void {
    if (upgrade) llhttp.llhttp_resume_after_upgrade(this.ptr);
    else llhttp.llhttp_resume(this.ptr);
  }

  /** Starts over, for a pooled connection's next response. */
  reset(): void {
    llhttp.llhttp_reset(this.ptr);
  }

  /** The request method, valid from `onHeadersComplete` on. */
  method(): string {
    const code = llhttp.llhttp_get_method(this.ptr);
    let name = METHOD_NAMES.get(code);
    if (name === undefined) {
      name = cString(llhttp.llhttp_method_name(code));
      METHOD_NAMES.set(code, name);
    }
    return name;
  }

  httpMinor(): number {
    return llhttp.llhttp_get_http_minor(this.ptr);
  }

  httpMajor(): number {
    return llhttp.llhttp_get_http_major(this.ptr);
  }

  /** Whether the message just parsed allows the connection to carry another (valid at message end). */
  shouldKeepAlive(): boolean {
    return llhttp.llhttp_should_keep_alive(this.ptr) === 1;
  }

  free(): void {
    if (this.ptr !== 0) llhttp.llhttp_free(this.ptr);
    this.ptr = 0;
  }
}

/**
 * Header (or trailer) fields as llhttp hands them over: in pieces that may span reads, gathered
 * into a flat `[name, value, …]` list like node:http's rawHeaders, names and values as latin1.
 */
export class FieldList {
  fields: string[] = [];
  private nameOpen = false;

  name(chunk: Buffer, start: number, end: number): void {
    const text = chunk.toString('latin1', start, end);
    if (this.nameOpen) this.fields[this.fields.length - 2] += text;
    else this.fields.push(text, '');
    this.nameOpen = true;
  }

  value(chunk: Buffer, start: number, end: number): void {
    this.fields[this.fields.length - 1] += chunk.toString('latin1', start, end);
    this.nameOpen = false;
  }

  /** The fields so far; the list starts over. */
  take(): string[] {
    const fields = this.fields;
    this.fields = [];
    this.nameOpen = false;
    return fields;
  }
}

/**
 * RFC 9110 §5.5: a field value has no leading or trailing whitespace. llhttp skips the leading
 * run; the trailing one is ours to drop, as node:http does, so `Bearer x\t` is not another token.
 */
export function trimValues(raw: string[]): void {
  for (let i = 1; i < raw.length; i += 2) {
    const value = raw[i]!;
    const last = value.charCodeAt(value.length - 1);
    if (last === 0x20 || last === 0x09) raw[i] = value.replace(/[ \t]+$/, '');
  }
}
