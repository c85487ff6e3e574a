/** The client connection preface of HTTP/2 (RFC 9113 §3.4), sent first by prior knowledge. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Whether a connection's first bytes are the HTTP/2 preface: `yes`, `no`, or `more` when they
 * are a proper prefix of it (a client may send it in pieces). Asked once per connection, of its
 * first read: one byte settles it for GET, two for POST, PUT and PATCH.
 */
export function prefaceOf(data: Buffer): 'yes' | 'no' | 'more' {
  if (data[0] !== 0x50) return 'no';
  const length = Math.min(data.length, HTTP2_PREFACE.length);
  if (data.compare(HTTP2_PREFACE, 0, length, 0, length) !== 0) return 'no';
  return length === HTTP2_PREFACE.length ? 'yes' : 'more';
}
