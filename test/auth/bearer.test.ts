import t from 'tap';
import { BearerFault, parseBearerValue, readBearer } from '../../src/auth/bearer.js';

t.test('a bearer secret is read from the raw headers', async (t) => {
  t.equal(readBearer(['Host', 'x', 'Authorization', 'Bearer abc']), 'abc');
});

t.test('the scheme is case-insensitive (RFC 6750)', async (t) => {
  t.equal(parseBearerValue('bearer abc'), 'abc');
  t.equal(parseBearerValue('BEARER abc'), 'abc');
  t.equal(readBearer(['authorization', 'bEaReR abc']), 'abc');
});

t.test('extra spaces around the secret are tolerated', async (t) => {
  t.equal(parseBearerValue('Bearer    abc  '), 'abc');
  t.equal(parseBearerValue('  Bearer abc'), 'abc');
});

t.test('no Authorization header is missing', async (t) => {
  t.equal(readBearer(['Host', 'x']), BearerFault.Missing);
});

t.test('two Authorization headers are refused whatever their case', async (t) => {
  t.equal(readBearer(['Authorization', 'Bearer a', 'authorization', 'Bearer a']), BearerFault.Duplicate);
});

t.test('other schemes and empty or split secrets are malformed', async (t) => {
  for (const value of ['Basic abc', 'Bearer', 'Bearer ', 'Bearerabc', 'Bearer a b', '', 'Token abc']) {
    t.equal(parseBearerValue(value), BearerFault.Malformed, JSON.stringify(value));
  }
});
