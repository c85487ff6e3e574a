import t from 'tap';
import { DENIALS, type DenyReason, deny } from '../../src/auth/decision.js';

// The refusal table: one row per reason, each with the status, problem type, metric outcome and
// challenge docs/data-plane.md documents.
const CASES: Array<[DenyReason, number, string, string, boolean]> = [
  ['missing_token', 401, '/problems/missing-token', 'unauthenticated', true],
  ['duplicate_authorization', 400, '/problems/duplicate-authorization', 'unauthenticated', false],
  ['ambiguous_header', 400, '/problems/ambiguous-header', 'forbidden', false],
  ['invalid_token', 401, '/problems/invalid-token', 'unauthenticated', true],
  // Workload identities and disabled users (docs/workload-identity.md): invalid_token, each with its own detail.
  ['user_disabled', 401, '/problems/invalid-token', 'unauthenticated', true],
  ['jwt_unknown_issuer', 401, '/problems/invalid-token', 'unauthenticated', true],
  ['jwt_bad_signature', 401, '/problems/invalid-token', 'unauthenticated', true],
  ['jwt_wrong_audience', 401, '/problems/invalid-token', 'unauthenticated', true],
  ['jwt_expired', 401, '/problems/invalid-token', 'unauthenticated', true],
  ['jwt_unmapped_user', 401, '/problems/invalid-token', 'unauthenticated', true],
  ['certificate_unmapped_user', 401, '/problems/invalid-token', 'unauthenticated', true],
  ['jwt_keys_unavailable', 503, '/problems/store-unavailable', 'unavailable', false],
  ['token_in_two_places', 400, '/problems/token-in-two-places', 'unauthenticated', false],
  ['unsupported_upgrade', 400, '/problems/unsupported-upgrade', 'not_found', false],
  ['bad_target', 400, '/problems/bad-path', 'not_found', false],
  ['ambiguous_path', 400, '/problems/ambiguous-path', 'not_found', false],
  ['uri_too_long', 414, '/problems/uri-too-long', 'not_found', false],
  ['too_many_headers', 431, '/problems/too-many-headers', 'not_found', false],
  ['expectation_failed', 417, '/problems/expectation-failed', 'not_found', false],
  ['no_route', 404, '/problems/no-route', 'not_found', false],
  ['method_not_allowed', 405, '/problems/method-not-allowed', 'forbidden', false],
  ['insufficient_scope', 403, '/problems/insufficient-scope', 'forbidden', true],
  ['address_not_allowed', 403, '/problems/address-not-allowed', 'forbidden', false],
  ['store_unavailable', 503, '/problems/store-unavailable', 'unavailable', false],
  ['rate_limited', 429, '/problems/rate-limited', 'forbidden', false],
  ['quota_exceeded', 429, '/problems/quota-exceeded', 'forbidden', false],
  ['too_many_streams', 429, '/problems/too-many-streams', 'forbidden', false],
  // The decision port's own (docs/decision-api/README.md).
  ['bad_method', 400, '/problems/bad-method', 'not_found', false],
];

t.test('every reason has its documented row, and the table has no other', async (t) => {
  t.same(Object.keys(DENIALS).sort(), CASES.map(([reason]) => reason).sort());
  for (const [reason, status, type, outcome, hasChallenge] of CASES) {
    const denial = DENIALS[reason];
    t.same([denial.status, denial.type, denial.outcome, denial.challenge !== undefined], [status, type, outcome, hasChallenge], reason);
    t.ok(denial.detail.length > 0 && denial.detail.length < 200, `${reason}: a short detail`);
  }
  t.match(DENIALS.invalid_token.challenge, /error="invalid_token"/);
  t.match(DENIALS.insufficient_scope.challenge, /error="insufficient_scope"/);
  const ownTypes = CASES.filter(([, , type], i) => CASES.findIndex(([, , other]) => other === type) === i);
  t.equal(new Set(ownTypes.map(([, , type]) => type)).size, ownTypes.length, 'problem types are unique');
  const details = CASES.filter(([, , type]) => type === '/problems/invalid-token').map(([reason]) => DENIALS[reason].detail);
  t.equal(new Set(details).size, details.length, 'each invalid_token reason says which check failed');
});

t.test('deny() carries its reason', async (t) => {
  for (const [reason] of CASES) t.same(deny(reason), { allowed: false, reason });
});

t.test('one problem registry: every code has one type, every type one code, statuses are errors', async (t) => {
  const { PROBLEMS } = await import('../../src/http/problems.js');
  const kinds = Object.values(PROBLEMS);
  t.equal(new Set(kinds.map((k) => k.type)).size, kinds.length, 'types are unique');
  t.ok(kinds.every((k) => k.status >= 400 && k.status <= 599 && k.type.startsWith('/problems/') && k.title.length > 0));
  for (const [reason, denial] of Object.entries(DENIALS)) {
    // A reason that refines another (which JWT check failed) shares that one's registry entry.
    const kind = PROBLEMS[reason as keyof typeof PROBLEMS] ?? kinds.find((k) => k.type === denial.type);
    t.same([denial.status, denial.type, denial.title], [kind?.status, kind?.type, kind?.title], `${reason} comes from the registry`);
  }
});
