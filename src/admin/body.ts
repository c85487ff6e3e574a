import type { IncomingMessage } from 'node:http';
import { AdminError, invalidRequest } from './errors.js';
import { JsonNesting, MAX_JSON_DEPTH } from './json-nesting.js';

/** Largest admin request body accepted on most routes (1 MiB, else 413). */
export const MAX_BODY_BYTES = 1 << 20;

/** Largest body of the tokenless leak report: 1000 secrets of about 50 bytes fit with room to spare. */
export const LEAK_BODY_BYTES = 64 << 10;

/** A request and the body cap of its route (admin/routes.ts). */
export interface BodySource {
  req: IncomingMessage;
  bodyLimit: number;
}

/**
 * Reads and parses a JSON request body, refusing other media types, bodies over the route's cap
 * and nesting deeper than MAX_JSON_DEPTH (both as the body streams in, before JSON.parse runs),
 * and bad JSON. The server has refused an announced Content-Length over the cap already.
 */
export async function readJson({ req, bodyLimit }: BodySource): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(?:[a-z0-9.+-]*\+)?json\s*(?:;|$)/i.test(type)) {
    throw AdminError.of('unsupported_media_type', 'send the body as application/json');
  }
  const text = await readCapped(req, bodyLimit);
  let hasProtoKey = false;
  let body: unknown;
  try {
    // JSON.parse makes `__proto__` an own key, which later copies (zod's records among them)
    // drop without a word or turn into a prototype: refused, so nothing sent is lost unseen.
    body = JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') hasProtoKey = true;
      return value;
    });
  } catch {
    throw AdminError.of('invalid_json', 'the request body is not valid JSON');
  }
  if (hasProtoKey) throw invalidRequest([{ field: '__proto__', message: 'not accepted as a key anywhere in a request body' }]);
  return body;
}

/** The Content-Length a request announces; 0 when it has none (chunked, or no body). */
export function declaredLength(req: IncomingMessage): number {
  // node:http has already refused a malformed or repeated Content-Length with 400.
  return Number(req.headers['content-length'] ?? 0);
}

/**
 * The body as text, refused as soon as it passes `limit` bytes or MAX_JSON_DEPTH levels. Read
 * through listeners rather than an async iterator: leaving an iterator early destroys the
 * request, and with it the socket the refusal is to be sent on.
 */
function readCapped(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const nesting = new JsonNesting();
    let size = 0;
    const stop = (fault?: AdminError) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      if (fault === undefined) return resolve(Buffer.concat(chunks, size).toString('utf8'));
      // The rest is not wanted: left unread, and the server closes the connection after its answer.
      req.pause();
      reject(fault);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(bodyTooLarge(limit));
      nesting.feed(chunk);
      if (nesting.deepest > MAX_JSON_DEPTH) return stop(tooDeep());
      chunks.push(chunk);
    };
    const onEnd = () => stop();
    // The client went away mid-body: there is nobody to answer.
    const onClose = () => stop(AdminError.of('invalid_request', 'the connection closed before the body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

/** The 413 for a body over `limit` bytes. */
export const bodyTooLarge = (limit: number): AdminError => AdminError.of('body_too_large', `request bodies here are limited to ${limit} bytes`);

const tooDeep = () => AdminError.of('json_too_deep', `request bodies may nest arrays and objects at most ${MAX_JSON_DEPTH} deep`);
