import { randomUUID } from 'node:crypto';
import { containsSecret } from '../log/redact.js';

const MAX_LENGTH = 128;

/**
 * Keeps an incoming `x-request-id` when it is short visible ASCII holding no secret, else makes a
 * new one. The id is logged, forwarded and returned, so a client that pasted a token into it
 * (or a tool that used one as a correlation id) must not have it spread further.
 */
export function requestIdFor(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string' && incoming.length > 0 && incoming.length <= MAX_LENGTH) {
    let isClean = true;
    for (let i = 0; i < incoming.length; i++) {
      const c = incoming.charCodeAt(i);
      if (c < 0x21 || c > 0x7e || c === 0x22 /* " */ || c === 0x5c /* \ */) {
        isClean = false;
        break;
      }
    }
    if (isClean && !containsSecret(incoming)) return incoming;
  }
  return randomUUID();
}
