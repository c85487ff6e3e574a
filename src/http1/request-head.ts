/** What the client connection parsed from a request head, in one pass over its fields. */
export interface RequestHead {
  method: string;
  /** The request target as it came (for the access log, redacted there). */
  url: string;
  rawHeaders: string[];
  httpMinor: number;
  /** Whether the connection may carry another request after this one. */
  keepAlive: boolean;
  /** `chunked`, `length` (non-zero Content-Length) or `none`. */
  body: 'chunked' | 'length' | 'none';
  /** What the Expect field asked for, if anything. */
  expectation: 'none' | 'continue' | 'unsupported';
  /** The first value of each field the pipeline reads by name; undefined when absent. */
  host: string | undefined;
  connectionHeader: string | undefined;
  requestIdHeader: string | undefined;
  /** `websocket` for a GET asking to become a WebSocket, `other` for any other upgrade asked for. */
  upgrade: 'none' | 'websocket' | 'other';
}
