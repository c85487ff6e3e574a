import t from 'tap';
import { authorize, effectiveRights } from '../../src/auth/authorize.js';
import { makeToken } from '../helpers/records.js';

const NOW = 1_750_000_000_000;

t.test('a repository token may use its rights on its repository', async (t) => {
  const { record } = makeToken({ repository: 'sensors', rights: ['query'] });
  t.same(authorize({ record, grants: null }, 'query', 'sensors', NOW), { allowed: true, repository: 'sensors', right: 'query' });
});

t.test('a right the token lacks is insufficient scope', async (t) => {
  const { record } = makeToken({ rights: ['query'] });
  t.same(authorize({ record, grants: null }, 'delete', 'sensors', NOW), { allowed: false, reason: 'insufficient_scope' });
});

t.test('a sensors token never reaches billing', async (t) => {
  const { record } = makeToken({ repository: 'sensors', rights: ['query', 'stream', 'modify', 'delete', 'admin'] });
  t.same(authorize({ record, grants: null }, 'query', 'billing', NOW), { allowed: false, reason: 'insufficient_scope' });
});

t.test('a * token covers every repository', async (t) => {
  const { record } = makeToken({ repository: '*', rights: ['query'] });
  t.equal(authorize({ record, grants: null }, 'query', 'billing', NOW).allowed, true);
});

t.test('without a route repository the token repository is used', async (t) => {
  const { record } = makeToken({ repository: 'sensors', rights: ['query'] });
  t.same(authorize({ record, grants: null }, 'query', undefined, NOW), { allowed: true, repository: 'sensors', right: 'query' });
});

t.test('revoked and expired tokens are invalid', async (t) => {
  const revoked = makeToken({ status: 'revoked' }).record;
  const expired = makeToken({ expiresAt: NOW }).record;
  const later = makeToken({ expiresAt: NOW + 1 }).record;
  t.same(authorize({ record: revoked, grants: null }, 'query', 'sensors', NOW), { allowed: false, reason: 'invalid_token' });
  t.same(authorize({ record: expired, grants: null }, 'query', 'sensors', NOW), { allowed: false, reason: 'invalid_token' });
  t.equal(authorize({ record: later, grants: null }, 'query', 'sensors', NOW).allowed, true);
});

t.test('a personal token gets its rights intersected with the user grants', async (t) => {
  const { record } = makeToken({ kind: 'personal', user: 'alice', repository: '*', rights: ['query', 'stream'] });
  const identity = { record, grants: { sensors: ['query' as const], '*': ['stream' as const] } };
  t.equal(authorize(identity, 'query', 'sensors', NOW).allowed, true);
  t.equal(authorize(identity, 'stream', 'billing', NOW).allowed, true, 'a * grant covers every repository');
  t.equal(authorize(identity, 'query', 'billing', NOW).allowed, false, 'no grant on billing');
  t.same(effectiveRights(identity, 'sensors'), ['query', 'stream']);
  t.same(effectiveRights(identity, 'billing'), ['stream']);
});

t.test('a personal token with no grants can do nothing', async (t) => {
  const { record } = makeToken({ kind: 'personal', user: 'bob', repository: 'sensors', rights: ['query'] });
  t.equal(authorize({ record, grants: {} }, 'query', 'sensors', NOW).allowed, false);
});

t.test('a lent token is invalid once its line has ended, whatever its own status says', async (t) => {
  const { record } = makeToken({ lent: true, parentId: 'feedfacefeedface' });
  t.ok(authorize({ record, grants: null, lineEndsAt: 2000 }, 'query', undefined, 1999).allowed, 'before its line ends');
  t.match(authorize({ record, grants: null, lineEndsAt: 2000 }, 'query', undefined, 2000), { allowed: false, reason: 'invalid_token' }, 'at the end');
  t.match(authorize({ record, grants: null, lineEndsAt: 0 }, 'query', undefined, 1), { allowed: false, reason: 'invalid_token' }, 'a maker revoked');
});
