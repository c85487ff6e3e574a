import type { IncomingMessage } from 'node:http';
import { AdminError, invalidRequest } from './errors.js';

/** Largest admin request body accepted (issue #4: 1 MiB, else 413). */
export const MAX_BODY_BYTES = 1 << 20;

/** Reads and parses a JSON request body, refusing other media types, oversize bodies and bad JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(?:[a-z0-9.+-]*\+)?json\s*(?:;|$)/i.test(type)) {
    throw AdminError.of('unsupported_media_type', 'send the body as application/json');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  let hasProtoKey = false;
  let body: unknown;
  try {
    // JSON.parse makes `__proto__` an own key, which later copies (zod's records among them)
    // drop without a word or turn into a prototype: refused, so nothing sent is lost unseen.
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'), function (key, value: unknown) {
      if (key === '__proto__') hasProtoKey = true;
      return value;
    });
  } catch {
    throw AdminError.of('invalid_json', 'the request body is not valid JSON');
  }
  if (hasProtoKey) throw invalidRequest([{ field: '__proto__', message: 'not accepted as a key anywhere in a request body' }]);
  return body;
}

const tooLarge = () =>
  AdminError.of('body_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
