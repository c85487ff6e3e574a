import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd } from '../helpers/cli.js';
import { makeCertificate } from '../helpers/certificates.js';

// `tollgate serve` as users run it (the built CLI): a certificate that cannot serve is a config
// fault, exit 2, naming the key; the key's bytes never appear.
const good = makeCertificate(30);
const other = makeCertificate(30);
const dir = t.testdir({});
const files = {
  cert: join(dir, 'cert.pem'),
  key: join(dir, 'key.pem'),
  otherKey: join(dir, 'other-key.pem'),
  garbage: join(dir, 'garbage.pem'),
};
writeFileSync(files.cert, good.cert);
writeFileSync(files.key, good.key);
writeFileSync(files.otherKey, other.key);
writeFileSync(files.garbage, 'not PEM at all\n');

const serve = (cert: string, key: string) =>
  runToEnd(['serve'], {
    TOLLGATE_STORE_BACKEND: 'memory',
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_PROXY_TLS_CERT: cert,
    TOLLGATE_PROXY_TLS_KEY: key,
  });

t.test('a missing certificate file exits 2 naming proxy.tls.cert', async (t) => {
  const run = await serve(join(dir, 'absent.pem'), files.key);
  t.equal(run.code, 2);
  t.match(run.stderr, /proxy\.tls\.cert: cannot read .*absent\.pem \(ENOENT\)/);
});

t.test('a file holding no certificate exits 2 naming proxy.tls.cert', async (t) => {
  const run = await serve(files.garbage, files.key);
  t.equal(run.code, 2);
  t.match(run.stderr, /proxy\.tls\.cert: .*garbage\.pem holds no PEM certificate/);
});

t.test('a file holding no key exits 2 naming proxy.tls.key', async (t) => {
  const run = await serve(files.cert, files.garbage);
  t.equal(run.code, 2);
  t.match(run.stderr, /proxy\.tls\.key: .*garbage\.pem holds no usable private key/);
});

t.test('a key that is not the certificate\'s exits 2 naming proxy.tls.key', async (t) => {
  const run = await serve(files.cert, files.otherKey);
  t.equal(run.code, 2);
  t.match(run.stderr, /proxy\.tls\.key: .*other-key\.pem is not the key of the certificate/);
  t.notMatch(run.stderr + run.stdout, /PRIVATE KEY|BEGIN/, 'no PEM text is echoed');
});

t.test('only one of cert and key set exits 2 naming the missing one', async (t) => {
  const run = await serve(files.cert, '');
  t.equal(run.code, 2);
  t.match(run.stderr, /proxy\.tls\.key: expected a PEM file when proxy\.tls\.cert is set/);
});
