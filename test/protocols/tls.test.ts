import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import t from 'tap';
import { createLogger } from '../../src/log/logger.js';
import { makeCertificate, SecretVolume } from '../helpers/certificates.js';
import { curl } from '../helpers/curl.js';
import { Echo, grpc, type Note, startEchoServer } from '../helpers/grpc.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

const first = makeCertificate(30);
const second = makeCertificate(90);
const dir = t.testdir({});
const volume = new SecretVolume(dir, first);
const bundle = join(dir, 'trusted.pem');
writeFileSync(bundle, first.cert + second.cert);

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(chunk.toString());
    done();
  },
});
const echo = await startEchoServer();
const h = await startHarness({
  config: {
    proxy: { tls: { cert: volume.certPath, key: volume.keyPath }, grpcUpstream: `h2c://127.0.0.1:${echo.port}` },
    routes: [{ path: '/v1/repositories/:repository/**' }, { path: '/tollgate.test.Echo/**' }],
  },
  logger: createLogger('info', sink),
});
t.teardown(async () => {
  await h.close();
  await echo.close();
});
const data = await h.token(['query', 'stream']);
const url = `https://127.0.0.1:${h.tollgate.proxyPort}/v1/repositories/sensors/query`;
const auth = `authorization: ${bearer(data.secret).authorization}`;

async function expiryMetric(): Promise<number> {
  const text = await (await fetch(`${h.admin}/metrics`)).text();
  return Number(/^tollgate_tls_certificate_expiry_timestamp_seconds (\d+)/m.exec(text)?.[1]);
}

/** An HTTP/1.1 keep-alive connection over TLS, one request at a time. */
function keepAlive(): Promise<{ socket: TLSSocket; get(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: h.tollgate.proxyPort, ca: first.cert + second.cert, ALPNProtocols: ['http/1.1'] }, () => {
      resolve({
        socket,
        get: () =>
          new Promise((done) => {
            let text = '';
            const onData = (chunk: Buffer) => {
              text += chunk.toString();
              if (text.includes('"bytes":0}')) {
                socket.off('data', onData);
                done(text);
              }
            };
            socket.on('data', onData);
            socket.write(`GET /v1/repositories/sensors/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${data.secret}\r\n\r\n`);
          }),
      });
    });
    socket.once('error', reject);
  });
}

t.test('HTTP/1.1 over TLS passes through the same pipeline, with X-Forwarded-Proto https', async (t) => {
  h.upstream.received.length = 0;
  const res = await curl(['--http1.1', '--cacert', bundle, '-H', auth, url]);
  t.equal(res.httpVersion, '1.1');
  t.equal(res.status, 200);
  t.equal(h.upstream.received[0]!.headers['x-forwarded-proto'], 'https');
  t.equal(h.upstream.received[0]!.headers['x-tollgate-repository'], 'sensors');
  const refused = await curl(['--http1.1', '--cacert', bundle, url]);
  t.equal(refused.status, 401);
});

t.test('HTTP/2 is chosen by ALPN, on TLS 1.3 and on TLS 1.2', async (t) => {
  h.upstream.received.length = 0;
  const res = await curl(['--http2', '--cacert', bundle, '-H', auth, url]);
  t.equal(res.httpVersion, '2');
  t.equal(res.status, 200);
  t.equal(h.upstream.received[0]!.headers['x-forwarded-proto'], 'https', 'an HTTP/2 stream on TLS is forwarded as https too');
  const tls12 = await curl(['--http2', '--tlsv1.2', '--tls-max', '1.2', '--cacert', bundle, '-H', auth, url]);
  t.equal(tls12.httpVersion, '2');
  t.equal(tls12.status, 200);
  const refused = await curl(['--http2', '--cacert', bundle, url]);
  t.equal(refused.status, 401);
  t.equal(refused.headers['content-type'], 'application/problem+json');
  const tls11 = await curl(['--tlsv1.1', '--tls-max', '1.1', '--cacert', bundle, url]).catch((err: Error) => err);
  t.ok(tls11 instanceof Error || tls11.status === 0, 'TLS 1.1 is refused');
});

t.test('a gRPC client over TLS is judged and relayed like one over h2c', async (t) => {
  const credentials = grpc.credentials.createSsl(Buffer.from(first.cert + second.cert));
  const client = new Echo(`127.0.0.1:${h.tollgate.proxyPort}`, credentials) as grpc.Client & Record<string, unknown>;
  t.teardown(() => client.close());
  const call = (metadata: grpc.Metadata) =>
    new Promise<grpc.StatusObject>((resolve) => {
      const unary = (client.Unary as (r: Note, m: grpc.Metadata, cb: grpc.requestCallback<Note>) => grpc.ClientUnaryCall).call(
        client,
        { text: 'tls' },
        metadata,
        () => {},
      );
      unary.on('status', resolve);
    });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', bearer(data.secret).authorization);
  t.equal((await call(metadata)).code, grpc.status.OK);
  t.equal(echo.calls.at(-1)!.metadata.get('x-forwarded-proto')[0], 'https');
  t.equal((await call(new grpc.Metadata())).code, grpc.status.UNAUTHENTICATED);
});

t.test('a rotated certificate is served to new connections; an open one keeps working', async (t) => {
  t.equal(await expiryMetric(), first.expiresAt, 'the metric shows the first certificate');
  const open = await keepAlive();
  t.match(await open.get(), /^HTTP\/1\.1 200 /);
  t.equal(open.socket.getPeerX509Certificate()!.serialNumber, first.serial);

  volume.rotate(second);
  await waitFor(async () => (await curl(['--cacert', bundle, '-H', auth, url])).status === 200 && (await servedSerial()) === second.serial, {
    what: 'the new certificate on new connections',
    timeoutMs: 10_000,
  });
  t.equal(await expiryMetric(), second.expiresAt, 'the metric follows the certificate served');
  t.match(await open.get(), /^HTTP\/1\.1 200 /, 'the open keep-alive connection still answers');
  t.equal(open.socket.destroyed, false, 'on the connection that shook hands with the first certificate');
  t.ok(lines.some((line) => line.includes('TLS certificate reloaded')));
  open.socket.destroy();
});

t.test('an unusable certificate later keeps the one served, logs at error, leaves the metric', async (t) => {
  const before = lines.length;
  volume.rotate({ cert: 'not a certificate\n', key: second.key });
  await waitFor(() => lines.slice(before).some((line) => line.includes('TLS certificate files unusable')), { what: 'the error line', timeoutMs: 10_000 });
  const line = JSON.parse(lines.slice(before).find((l) => l.includes('TLS certificate files unusable'))!);
  t.equal(line.level, 50, 'logged at error');
  t.match(line.err, /proxy\.tls\.cert/);
  t.notMatch(lines.slice(before).join(''), /PRIVATE KEY/, 'the key never reaches the log');
  t.equal(await servedSerial(), second.serial, 'new connections still get the good certificate');
  t.equal(await expiryMetric(), second.expiresAt);

  const mismatched = lines.length;
  volume.rotate({ cert: first.cert, key: second.key });
  await waitFor(() => lines.slice(mismatched).some((l) => l.includes('TLS certificate files unusable')), { what: 'the mismatch line', timeoutMs: 10_000 });
  t.match(lines.slice(mismatched).join(''), /proxy\.tls\.key: .* is not the key of the certificate/);
  t.equal(await servedSerial(), second.serial);
});

/** The serial a new TLS connection is served (upper-case hex). */
function servedSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: h.tollgate.proxyPort, ca: first.cert + second.cert }, () => {
      const serial = socket.getPeerX509Certificate()!.serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}
