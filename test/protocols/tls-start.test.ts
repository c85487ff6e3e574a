import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeCertificate } from '../helpers/certificates.js';
import { runCli, runToEnd } from '../helpers/cli.js';
import { curl } from '../helpers/curl.js';

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

t.test("a key that is not the certificate's exits 2 naming proxy.tls.key", async (t) => {
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

t.test('a good pair serves TLS from the built CLI, HTTP/1.1 and HTTP/2', async (t) => {
  const run = runCli(['serve'], {
    TOLLGATE_STORE_BACKEND: 'memory',
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_PROXY_TLS_CERT: files.cert,
    TOLLGATE_PROXY_TLS_KEY: files.key,
    TOLLGATE_PROXY_UPSTREAM: 'http://127.0.0.1:1',
  });
  t.teardown(() => run.child.kill('SIGKILL'));
  const served = await run.logLine('TLS certificate served');
  t.equal(served.serial, good.serial);
  const { proxyPort } = await run.logLine('tollgate listening');
  const bundle = join(dir, 'ca.pem');
  writeFileSync(bundle, good.cert);
  const h1 = await curl(['--http1.1', '--cacert', bundle, `https://127.0.0.1:${proxyPort}/health`]);
  const h2 = await curl(['--http2', '--cacert', bundle, `https://127.0.0.1:${proxyPort}/health`]);
  t.equal(h1.httpVersion, '1.1');
  t.equal(h2.httpVersion, '2');
  // /health is public; nothing listens on port 1, so the answer is Tollgate's own 502 on both.
  t.equal(h1.status, 502);
  t.equal(h2.status, 502);
  t.notMatch(run.stdout() + run.stderr(), /PRIVATE KEY/);
});
