import { holdsName, nameScopeOf, type TokenSummary } from '../tokens/record.js';

/** Tokens that hold one name in one scope: what `tollgate reconcile` lists for an operator to rename. */
export interface DuplicateName {
  scope: string;
  name: string;
  ids: string[];
}

/**
 * Names held by more than one token in one scope (docs/tokens.md, "Names"): left by stores written
 * before names were unique. They are kept; every new create or rename is checked.
 */
export function duplicateNames(tokens: Iterable<Readonly<TokenSummary>>): DuplicateName[] {
  const holders = new Map<string, DuplicateName>();
  for (const token of tokens) {
    if (!holdsName(token)) continue;
    const scope = nameScopeOf(token);
    const key = `${scope}\n${token.name}`;
    const found = holders.get(key);
    if (found) found.ids.push(token.id);
    else holders.set(key, { scope, name: token.name, ids: [token.id] });
  }
  return [...holders.values()].filter((entry) => entry.ids.length > 1).sort((a, b) => a.scope.localeCompare(b.scope) || a.name.localeCompare(b.name));
}

/** The token other than `except` that holds `name` in `scope`, if any. */
export function holderOf(tokens: Iterable<Readonly<TokenSummary>>, scope: string, name: string, except: readonly string[]): Readonly<TokenSummary> | undefined {
  for (const token of tokens) {
    if (token.name === name && holdsName(token) && !except.includes(token.id) && nameScopeOf(token) === scope) return token;
  }
  return undefined;
}

/** How a scope reads in a message: `repository sensors`, `user alice`. */
export const describeScope = (scope: string): string => scope.replace(':', ' ');
