import t from 'tap';
import { faultsOf, fromYaml } from '../helpers/config.js';

const issuer = (extra: string) => `identity:\n  jwt:\n    - { issuer: https://oidc.example.com, audiences: [tollgate]${extra} }\n`;

t.test('an issuer entry takes the documented defaults', async (t) => {
  const config = fromYaml(t, issuer(''));
  t.same(config.identity.jwt[0], {
    issuer: 'https://oidc.example.com',
    audiences: ['tollgate'],
    jwksUri: '',
    algorithms: ['RS256', 'ES256', 'EdDSA'],
    clockSkew: 30_000,
    user: '{sub}',
    teams: '',
  });
  t.same(config.identity.mtls, { clientCa: '', required: false, user: 'sa-{spiffe.ns}-{spiffe.sa}' });
});

t.test('none and HMAC algorithms are refused at load, naming the key', async (t) => {
  for (const alg of ['none', 'HS256', 'hs512', 'NONE']) {
    const faults = faultsOf(() => fromYaml(t, issuer(`, algorithms: [ES256, ${alg}]`)));
    t.equal(faults.length, 1, alg);
    t.match(faults[0], new RegExp(`^identity\\.jwt\\.0\\.algorithms\\.1: ${alg} is never accepted`), alg);
  }
  t.match(faultsOf(() => fromYaml(t, issuer(', algorithms: [RS1]')))[0], /^identity\.jwt\.0\.algorithms\.0: expected one of RS256/);
});

t.test('each key of an issuer is checked with its range', async (t) => {
  t.match(faultsOf(() => fromYaml(t, issuer(', clockSkew: 10m')))[0], /^identity\.jwt\.0\.clockSkew: expected a duration from 0s to 5m/);
  t.match(faultsOf(() => fromYaml(t, issuer(', user: plain')))[0], /^identity\.jwt\.0\.user: expected a template/);
  t.match(
    faultsOf(() => fromYaml(t, 'identity:\n  jwt:\n    - { issuer: https://a.example, audiences: [] }\n'))[0],
    /^identity\.jwt\.0\.audiences: expected a non-empty list/,
  );
  t.match(
    faultsOf(() => fromYaml(t, 'identity:\n  jwt:\n    - { issuer: ftp://a.example, audiences: [x] }\n'))[0],
    /^identity\.jwt\.0\.issuer: expected an http/,
  );
  t.match(
    faultsOf(() => fromYaml(t, `${issuer('')}    - { issuer: https://oidc.example.com, audiences: [x] }\n`))[0],
    /^identity\.jwt\.1\.issuer: each issuer may appear once/,
  );
});

t.test('client certificates need TLS on the proxy port, and required needs a CA', async (t) => {
  t.match(faultsOf(() => fromYaml(t, 'identity:\n  mtls: { clientCa: /etc/ca.pem }\n'))[0], /^identity\.mtls\.clientCa: expected proxy\.tls\.cert/);
  t.match(faultsOf(() => fromYaml(t, 'identity:\n  mtls: { required: true }\n'))[0], /^identity\.mtls\.required: expected identity\.mtls\.clientCa/);
});
