import type { IncomingMessage } from 'node:http';
import { AdminError } from './errors.js';

/** Largest admin request body accepted (issue #4: 1 MiB, else 413). */
export const MAX_BODY_BYTES = 1 << 20;

/** Reads and parses a JSON request body, refusing other media types, oversize bodies and bad JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(?:[a-z0-9.+-]*\+)?json\s*(?:;|$)/i.test(type)) {
    throw new AdminError(415, '/problems/unsupported-media-type', 'Unsupported media type', 'send the body as application/json');
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
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AdminError(400, '/problems/invalid-json', 'Invalid JSON', 'the request body is not valid JSON');
  }
}

const tooLarge = () =>
  new AdminError(413, '/problems/body-too-large', 'Body too large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
