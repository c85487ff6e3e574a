import fc from 'fast-check';
import { type Grants, RIGHTS } from '../../src/tokens/record.js';

/** A user's grants: up to three scopes (taken from `scopes`), each with any subset of the rights. */
export function grantsOver(scopes: readonly string[]): fc.Arbitrary<Grants> {
  return fc.array(fc.tuple(fc.constantFrom(...scopes), fc.subarray([...RIGHTS])), { maxLength: 3 }).map((pairs) => {
    const grants: Grants = {};
    for (const [scope, rights] of pairs) grants[scope] = rights;
    return grants;
  });
}
