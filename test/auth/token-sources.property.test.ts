import fc from 'fast-check';
import t from 'tap';
import { BearerFault } from '../../src/auth/bearer.js';
import { type FoundIn, findToken, removeProtocolToken, withoutQueryToken } from '../../src/auth/token-sources.js';
import { generateSecret } from '../../src/tokens/secret.js';

const ALL = { header: true, query: true, protocol: true };
const QUERY_ONLY = { header: false, query: true, protocol: false };

// Other parameters: names and values from URL-safe characters, never `access_token` itself.
const param = fc
  .tuple(fc.stringMatching(/^[a-z_]{1,8}$/), fc.stringMatching(/^[A-Za-z0-9%._~-]{0,10}$/))
  .filter(([name]) => name !== 'access_token')
  .map(([name, value]) => `${name}=${value}`);

t.test('the query token leaves the target whole: the others stay, in order, and the secret is gone', async (t) => {
  fc.assert(
    fc.property(
      fc.array(param, { maxLength: 5 }),
      fc.nat(),
      fc.constantFrom('repository', 'personal') as fc.Arbitrary<'repository' | 'personal'>,
      (others, at, kind) => {
        const secret = generateSecret(kind);
        const params = [...others];
        params.splice(at % (others.length + 1), 0, `access_token=${secret}`);
        const path = `/v1/repositories/sensors/events?${params.join('&')}`;
        const into: FoundIn = {};
        if (findToken(path, [], QUERY_ONLY, into) !== secret || into.tokenSource !== 'query') return false;
        const forwarded = withoutQueryToken(path);
        const expected = others.length === 0 ? '/v1/repositories/sensors/events' : `/v1/repositories/sensors/events?${others.join('&')}`;
        return forwarded === expected && !forwarded.includes(secret);
      },
    ),
    { numRuns: 500 },
  );
  t.pass('500 targets');
});

t.test('a token in any two accepted places is refused, never picked', async (t) => {
  fc.assert(
    fc.property(fc.subarray(['header', 'query', 'protocol'] as const, { minLength: 2 }), (places) => {
      const secret = generateSecret('repository');
      const path = places.includes('query') ? `/a?access_token=${secret}` : '/a';
      const headers: string[] = [];
      if (places.includes('header')) headers.push('Authorization', `Bearer ${secret}`);
      if (places.includes('protocol')) headers.push('Sec-WebSocket-Protocol', `chat, tollgate.bearer.${secret}`);
      return findToken(path, headers, ALL, {}) === 'two_places';
    }),
  );
  t.equal(findToken(`/a?access_token=x&access_token=y`, [], QUERY_ONLY, {}), 'two_places', 'twice in the query');
  t.equal(
    findToken('/a', ['Sec-WebSocket-Protocol', 'tollgate.bearer.a', 'Sec-WebSocket-Protocol', 'tollgate.bearer.b'], ALL, {}),
    'two_places',
    'twice as a subprotocol',
  );
});

t.test('places a route does not accept are not read', async (t) => {
  const secret = generateSecret('repository');
  t.equal(findToken(`/a?access_token=${secret}`, [], { header: true, query: false, protocol: false }, {}), BearerFault.Missing);
  t.equal(findToken('/a', ['Authorization', `Bearer ${secret}`], QUERY_ONLY, {}), BearerFault.Missing);
  t.equal(findToken('/a?access_token=%E0%A4%A', [], QUERY_ONLY, {}), BearerFault.Malformed, 'bad percent-encoding is a malformed token, not a crash');
  t.equal(findToken('/a?access_token=', [], QUERY_ONLY, {}), BearerFault.Malformed);
});

t.test('the token subprotocol is taken out of every list, the rest kept in order', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z][a-z0-9.]{0,8}$/), { maxLength: 4 }), fc.nat(), (protocols, at) => {
      const secret = generateSecret('personal');
      const list = [...protocols];
      list.splice(at % (protocols.length + 1), 0, `tollgate.bearer.${secret}`);
      const headers = ['Host', 'a', 'Sec-WebSocket-Protocol', list.join(', '), 'X-Other', 'b'];
      removeProtocolToken(headers);
      if (headers.join('\n').includes(secret)) return false;
      return protocols.length === 0 ? headers.join('|') === 'Host|a|X-Other|b' : headers[3] === protocols.join(', ');
    }),
    { numRuns: 300 },
  );
  t.pass('300 lists');
});

t.test('spellings an upstream reads as access_token are never taken, never let through beside a token', async (t) => {
  const secret = generateSecret('repository');
  const variants = [
    `access%5Ftoken=${secret}`,
    `ACCESS_TOKEN=${secret}`,
    `access_token[]=${secret}`,
    `a=1;access_token=${secret}`,
    `access_token=${secret};b=2`,
    `Access%5FToken=${secret}`,
  ];
  for (const variant of variants) {
    const path = `/e?${variant}`;
    t.equal(findToken(path, [], QUERY_ONLY, {}), BearerFault.Malformed, `${variant.replace(secret, 'S')} alone: refused, not read`);
    t.equal(findToken(path, ['Authorization', `Bearer ${secret}`], ALL, {}), 'two_places', `${variant.replace(secret, 'S')} beside a header token: two places`);
    t.equal(findToken(`/e?access_token=${secret}&${variant}`, [], QUERY_ONLY, {}), 'two_places', 'beside the plain one: two places');
  }
  t.equal(findToken('/e?x_access_token=1&token=2', [], QUERY_ONLY, {}), BearerFault.Missing, 'names that only contain it are other parameters');
  t.equal(
    findToken('/e', ['Sec-WebSocket-Protocol', `Tollgate.Bearer.${secret}`], ALL, {}),
    BearerFault.Malformed,
    'the subprotocol in another case is refused',
  );
  const headers = ['Sec-WebSocket-Protocol', `chat, TOLLGATE.BEARER.${secret}`];
  removeProtocolToken(headers);
  t.same(headers, ['Sec-WebSocket-Protocol', 'chat'], 'and removed in any case');
});
