import type { TokenView } from '../admin/schemas.js';
import type { AdminClient } from './admin-client.js';
import { UsageError } from './args.js';
import { CliFailure } from './failure.js';
import { visible } from './terminal-text.js';

const FULL_ID = /^[0-9a-f]{16}$/;
const HEX = /^[0-9a-f]+$/;
const SECRET_PREFIX = /^tg[rp]_[0-9A-Za-z]+$/;
/** Pages of search results read to find the candidates; a reference matching more is ambiguous anyway. */
const MAX_PAGES = 4;

/** `0123abcd… "ci-loader" (tgr_AbCd…)`: how a candidate or a prompt names a token. */
export function describeToken(token: Pick<TokenView, 'id' | 'name' | 'prefix'>): string {
  return visible(`"${token.name}" (${token.prefix.slice(0, 8)}…)`);
}

/**
 * The token a command-line reference names: a full id (used as is: history works after delete),
 * a unique id prefix (`0123ab`), a secret prefix (`tgr_AbCdEfGh`), or an exact name. The API's
 * search (`q`: partial, over name, prefix and id among others) finds the candidates; only those
 * that match in one of these four ways count. None is a failure (exit 1); more than one is bad
 * usage (exit 2) that lists them, so the user can pick by id.
 */
export async function resolveTokenId(client: AdminClient, reference: string): Promise<string> {
  if (FULL_ID.test(reference)) return reference;
  const found = await candidates(client, reference);
  // A token rolled into another keeps its name through the overlap: the name means the new one.
  const current = found.filter((t) => t.rolledTo === null);
  const matches = current.length > 0 && found.every((t) => t.name === reference || t.rolledTo === null) ? current : found;
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new CliFailure(`no token matches ${visible(JSON.stringify(reference))} (by id, id prefix, secret prefix or exact name)`);
  const list = matches.map((t) => `  ${t.id}  ${describeToken(t)}  ${t.status}`).join('\n');
  throw new UsageError(`${visible(JSON.stringify(reference))} matches ${matches.length} tokens; name one by id:\n${list}`, '');
}

async function candidates(client: AdminClient, reference: string): Promise<TokenView[]> {
  const lower = reference.toLowerCase();
  const found = new Map<string, TokenView>();
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({ q: reference, limit: '500' });
    if (cursor) query.set('cursor', cursor);
    const result: { items: TokenView[]; nextCursor: string | null } = await client.call('GET', `/v1/tokens?${query}`);
    for (const token of result.items) {
      const byId = HEX.test(lower) && token.id.startsWith(lower);
      const byPrefix = SECRET_PREFIX.test(reference) && token.prefix.startsWith(reference);
      if (byId || byPrefix || token.name === reference) found.set(token.id, token);
    }
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return [...found.values()];
}
