import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { makeCertificate, makeClientChain } from '../helpers/certificates.js';
import { curl } from '../helpers/curl.js';
import { startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// Client certificates made with openssl (root -> intermediate -> leaf with a SPIFFE URI SAN),
// presented by curl to the proxy port's TLS, acting as the user the template maps them to.
const server = makeCertificate(30);
const producer = makeClientChain('spiffe://cluster.local/ns/prod/sa/producer');
const stranger = makeClientChain('spiffe://cluster.local/ns/prod/sa/producer');
const dir = t.testdir({});
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const tls = { cert: file('server.pem', server.cert), key: file('server.key', server.key) };
const caPath = file('client-ca.pem', producer.caCert);
const clientFiles = (chain: typeof producer, name: string) => ['--cert', file(`${name}.pem`, chain.chain), '--key', file(`${name}.key`, chain.key)];
const h = await startHarness({ config: { proxy: { tls }, identity: { mtls: { clientCa: caPath } } } });
t.teardown(() => h.close());
const made = await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'sa-prod-producer', grants: { sensors: ['query'] } });
if (made.status !== 201) throw new Error(`setup: ${made.status}`);
const url = `https://127.0.0.1:${h.tollgate.proxyPort}/v1/repositories/sensors/query`;
const trustServer = ['--cacert', tls.cert];

t.test('a certificate chaining to the client CA acts as the user its SPIFFE ID maps to', async (t) => {
  for (const version of ['--http1.1', '--http2']) {
    const res = await curl([...trustServer, version, ...clientFiles(producer, 'producer'), url]);
    t.equal(res.status, 200, version);
    t.equal(h.upstream.received.at(-1)!.headers['x-tollgate-user'], 'sa-prod-producer', version);
  }
  const metrics = await (await request(`${h.admin}/metrics`)).body.text();
  t.match(metrics, /tollgate_requests_total\{right="query",outcome="allowed",credential="mtls"\} 2/);
});

t.test('with certificates optional, none (or one from another CA) names nobody', async (t) => {
  t.equal((await curl([...trustServer, url])).status, 401);
  t.equal((await curl([...trustServer, ...clientFiles(stranger, 'stranger'), url])).status, 401);
});

t.test('a bearer sent with a certificate decides alone', async (t) => {
  const token = await h.token(['query'], 'billing');
  const res = await curl([...trustServer, ...clientFiles(producer, 'producer'), '-H', `authorization: Bearer ${token.secret}`, url]);
  t.equal(res.status, 403, "the token's scope (billing) decides, not the certificate's user");
});

t.test("a disabled user's certificate is refused at once", async (t) => {
  t.equal((await call(h, 'PATCH', '/v1/users/sa-prod-producer', h.adminSecret, { disabled: true })).status, 200);
  const res = await curl([...trustServer, ...clientFiles(producer, 'producer'), url]);
  t.equal(res.status, 401);
  t.match(res.body, /disabled/);
  t.equal((await call(h, 'PATCH', '/v1/users/sa-prod-producer', h.adminSecret, { disabled: false })).status, 200);
});

t.test('the client CA file is re-read when it changes', async (t) => {
  writeFileSync(caPath, stranger.caCert);
  await waitFor(async () => (await curl([...trustServer, ...clientFiles(stranger, 'stranger'), url])).status === 200, {
    what: 'the new client CA to be used',
    timeoutMs: 10_000,
    everyMs: 100,
  });
  t.equal((await curl([...trustServer, ...clientFiles(producer, 'producer'), url])).status, 401, 'the old CA no longer vouches');
});

t.test('required: a handshake without a client certificate is refused', async (t) => {
  const strict = await startHarness({ config: { proxy: { tls }, identity: { mtls: { clientCa: file('strict-ca.pem', producer.caCert), required: true } } } });
  t.teardown(() => strict.close());
  const strictUrl = `https://127.0.0.1:${strict.tollgate.proxyPort}/v1/repositories/sensors/query`;
  // TLS 1.3: the client sees the refusal as an alert once it reads; no HTTP status ever comes.
  const bare = await curl([...trustServer, strictUrl]).catch(() => undefined);
  t.ok(bare === undefined || bare.status === 0, 'no answer without a certificate');
  t.equal(strict.upstream.received.length, 0);
  await call(strict, 'POST', '/v1/users', strict.adminSecret, { name: 'sa-prod-producer', grants: { sensors: ['query'] } });
  t.equal((await curl([...trustServer, ...clientFiles(producer, 'producer'), strictUrl])).status, 200);
});
