import * as jose from 'jose';
import t from 'tap';
import { startTollgate } from '../../src/app.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { ConfigError, merge, validate } from '../../src/config/load.js';
import { IssuerKeys, REFRESH_INTERVAL_MS } from '../../src/identity/issuer-keys.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { makeCertificate } from '../helpers/certificates.js';
import { FakeClock } from '../helpers/fakes.js';

// Where an issuer's keys come from, and what is refused on the way, with a fetch the test answers.
const ISSUER = 'https://sso.example.com/realms/corp';
const { publicKey } = await jose.generateKeyPair('ES256');
const JWKS = { keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };

function keysWith(answers: Record<string, unknown>, jwksUri = '') {
  const asked: string[] = [];
  const fetcher = (async (url: string | URL | Request) => {
    asked.push(String(url));
    const body = answers[String(url)];
    return body === undefined ? new Response('no', { status: 404 }) : Response.json(body);
  }) as typeof fetch;
  const clock = new FakeClock();
  return { keys: new IssuerKeys({ issuer: ISSUER, jwksUri, jose, fetch: fetcher, clock, staleIfErrorMs: 60_000 }), asked, clock };
}

t.test("discovery: the jwks_uri of the issuer's own document", async (t) => {
  const { keys, asked } = keysWith({
    [`${ISSUER}/.well-known/openid-configuration`]: { issuer: ISSUER, jwks_uri: 'https://sso.example.com/certs' },
    'https://sso.example.com/certs': JWKS,
  });
  t.ok(await keys.usable());
  t.same(asked, [`${ISSUER}/.well-known/openid-configuration`, 'https://sso.example.com/certs']);
});

t.test('a configured jwksUri is fetched directly', async (t) => {
  const { keys, asked } = keysWith({ 'https://keys.example.com/jwks': JWKS }, 'https://keys.example.com/jwks');
  t.ok(await keys.usable());
  t.same(asked, ['https://keys.example.com/jwks']);
});

t.test('no keys from a document naming another issuer, one without jwks_uri, a non-JWKS body or an error status', async (t) => {
  const discovery = `${ISSUER}/.well-known/openid-configuration`;
  for (const [what, answers] of [
    [
      'another issuer',
      { [discovery]: { issuer: 'https://evil.example.com', jwks_uri: 'https://sso.example.com/certs' }, 'https://sso.example.com/certs': JWKS },
    ],
    ['no jwks_uri', { [discovery]: { issuer: ISSUER } }],
    ['not a JWK Set', { [discovery]: { issuer: ISSUER, jwks_uri: 'https://sso.example.com/certs' }, 'https://sso.example.com/certs': { keys: 'none' } }],
    ['404', {}],
  ] as const) {
    const { keys } = keysWith(answers);
    t.equal(await keys.usable(), undefined, what);
  }
});

t.test('fetches are at most one per 10 s, whoever asks', async (t) => {
  const { keys, asked, clock } = keysWith({ 'https://keys.example.com/jwks': JWKS }, 'https://keys.example.com/jwks');
  t.equal(await keys.refresh(), true);
  t.equal(await keys.refresh(), false);
  clock.advance(REFRESH_INTERVAL_MS);
  t.equal(await keys.refresh(), true);
  t.equal(asked.length, 2);
});

t.test('an unreadable client CA stops the start, naming its key', async (t) => {
  const server = makeCertificate(30);
  const dir = t.testdir({ 'server.pem': server.cert, 'server.key': server.key });
  const config = validate(
    merge(DEFAULTS, {
      proxy: { listen: '127.0.0.1:0', tls: { cert: `${dir}/server.pem`, key: `${dir}/server.key` } },
      admin: { listen: '127.0.0.1:0' },
      store: { backend: 'memory' },
      identity: { mtls: { clientCa: `${dir}/missing.pem` } },
    }),
  );
  try {
    await startTollgate(config, new MemoryStore(), createLogger('silent'), new FakeClock());
    t.fail('started');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    t.match((err as ConfigError).faults[0], /^identity\.mtls\.clientCa: cannot read .*missing\.pem \(ENOENT\)/);
  }
});
