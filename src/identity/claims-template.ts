import { NAME_PATTERN } from '../tokens/record.js';

const PLACEHOLDER = /\{([^{}]+)\}/g;

/**
 * Reads a dotted claim name in nested claims. A key may itself hold dots (`kubernetes.io`), so at
 * each level the longest run of segments that names a key is taken first, then shorter ones.
 */
export function claimAt(claims: unknown, name: string): unknown {
  return walk(claims, name.split('.'));
}

function walk(node: unknown, segments: readonly string[]): unknown {
  if (segments.length === 0) return node;
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  for (let take = segments.length; take >= 1; take--) {
    const key = segments.slice(0, take).join('.');
    if (!Object.hasOwn(node, key)) continue;
    const found = walk((node as Record<string, unknown>)[key], segments.slice(take));
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The user name a template makes from claims (or certificate fields), or undefined when a
 * placeholder names nothing, a value is not a string, or the result is no valid user name: a
 * credential that maps to no name is refused, never mapped to a guess.
 */
export function renderUser(template: string, fields: unknown): string | undefined {
  let missing = false;
  const name = template.replace(PLACEHOLDER, (_, claim: string) => {
    const value = claimAt(fields, claim);
    if (typeof value !== 'string' || value === '') missing = true;
    return typeof value === 'string' ? value : '';
  });
  return !missing && NAME_PATTERN.test(name) ? name : undefined;
}

/** The team names a list claim holds (a single string counts as a list of one); other values are ignored. */
export function teamsIn(fields: unknown, claim: string): string[] {
  if (claim === '') return [];
  const value = claimAt(fields, claim);
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  return [...new Set(list.filter((item): item is string => typeof item === 'string' && NAME_PATTERN.test(item)))];
}
