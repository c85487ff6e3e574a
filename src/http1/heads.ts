import { STATUS_CODES } from 'node:http';
import type { Problem } from '../http/problem.js';

/** Status lines, built once per status. */
const STATUS_LINES = new Map<number, string>();

export function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

const STATUS_LINE_BYTES = new Map<number, Buffer>();

/** The status line as bytes, for a head built in a buffer. */
export function statusLineBytes(status: number): Buffer {
  let line = STATUS_LINE_BYTES.get(status);
  if (line === undefined) {
    line = Buffer.from(statusLine(status), 'latin1');
    STATUS_LINE_BYTES.set(status, line);
  }
  return line;
}

let dateSecond = -1;
let dateLine = '';

/** The `date` header line (RFC 9110 §6.6.1), rebuilt at most once a second. */
export function dateHeaderLine(nowMs: number): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

/**
 * A whole problem+json response (RFC 9457) as one string: one socket write. Bodies hold only
 * fixed texts and the request id, never a header value, so a secret is never echoed back.
 */
export function problemResponse(
  problem: Problem,
  requestId: string,
  extra: Readonly<Record<string, string>> | undefined,
  close: boolean,
  nowMs: number,
): string {
  const body = JSON.stringify({ ...problem, requestId });
  let head = statusLine(problem.status);
  head += 'content-type: application/problem+json\r\n';
  head += `content-length: ${Buffer.byteLength(body)}\r\n`;
  head += 'cache-control: no-store\r\n';
  head += `x-request-id: ${requestId}\r\n`;
  if (extra !== undefined) for (const name in extra) head += `${name}: ${extra[name]}\r\n`;
  head += dateHeaderLine(nowMs);
  if (close) head += 'connection: close\r\n';
  return `${head}\r\n${body}`;
}

/** A bare refusal for what could not be parsed as HTTP at all (no request id, no body to frame). */
export function bareResponse(status: number): string {
  return `${statusLine(status)}connection: close\r\ncontent-length: 0\r\n\r\n`;
}

/**
 * The problem response to a request, as written: RFC 9110 §9.3.2, an answer to HEAD has no
 * content (Content-Length still says what GET would get), and body bytes after it would be read
 * as the start of the next response on the connection.
 */
export function problemAnswer(
  problem: Problem,
  requestId: string,
  extra: Readonly<Record<string, string>> | undefined,
  close: boolean,
  nowMs: number,
  isHead: boolean,
): string {
  const response = problemResponse(problem, requestId, extra, close, nowMs);
  return isHead ? response.slice(0, response.indexOf('\r\n\r\n') + 4) : response;
}
