import { randomUUID } from 'node:crypto';

const MAX_LENGTH = 128;

/** Keeps an incoming `x-request-id` when it is short visible ASCII, else makes a new one. */
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
    if (isClean) return incoming;
  }
  return randomUUID();
}
