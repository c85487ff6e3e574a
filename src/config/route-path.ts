import { checkTarget } from '../http/paths.js';

/** A literal segment: RFC 3986 pchar without percent-encoding, `:` (parameters) or `*` (globs). */
const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=@-]+$/;

/** Pieces of a segment between `;` that are `.` or `..`: `..;/` is `../` to servers that strip path parameters. */
const hasDotPiece = (segment: string): boolean => segment.split(';').some((piece) => piece === '.' || piece === '..');

const SYNTAX = 'expected a path of literal segments, :repository and a final /**';

/**
 * Why a route `path` can never be used, or undefined when it is a valid pattern. A route is
 * matched against targets that passed `checkTarget`, so a pattern that would not pass it itself
 * (dot segments, encoded characters) could never match; this says so at load instead.
 */
export function routePathFault(path: unknown): string | undefined {
  if (typeof path !== 'string' || !path.startsWith('/')) return SYNTAX;
  if (path.includes('%')) return 'expected no percent-encoded characters (requests are matched as sent, and %2e, %2f, %5c, %00 and %25 in them are refused)';
  const segments = path.slice(1).split('/');
  if (segments.some(hasDotPiece)) return 'expected no . or .. segment (a request with one is refused, so the route could never match)';
  let repositories = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === ':repository') repositories++;
    else if (segment === '**' && i === segments.length - 1) continue;
    else if (!LITERAL.test(segment) && !(segment === '' && segments.length === 1)) return SYNTAX;
  }
  if (repositories > 1) return `${SYNTAX} (one :repository at most)`;
  // The same check a request gets, on a request this route would match: whatever checkTarget
  // refuses, now or after it is tightened, no route may be written to expect.
  const sample = `/${segments.map((segment) => (segment === ':repository' ? 'sensors' : segment === '**' ? 'x' : segment)).join('/')}`;
  if (checkTarget(sample) !== sample) return 'expected a path that a request target could have (it fails the target checks every request passes)';
  return undefined;
}
