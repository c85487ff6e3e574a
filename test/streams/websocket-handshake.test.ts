import { type AddressInfo, createServer, type Socket } from 'node:net';
import t from 'tap';
import { startHarness } from '../helpers/harness.js';
import { talk } from '../helpers/raw-talk.js';
import { waitFor } from '../helpers/wait-for.js';

// The WebSocket handshake is checked both ways: an upgrade without a key and version 13 never
// reaches the upstream, and a 101 that does not prove it read this handshake (RFC 6455 §4.2.2) is
// a 502 with nothing behind it relayed. STREAM takes `stream` through its WEBSOCKET entry in the
// default routes.
const STREAM = '/v1/repositories/sensors/stream';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455 §1.3's example key
const HANDSHAKE = `connection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${KEY}\r\n`;

// A raw upstream that says 101 without proving it read a WebSocket handshake, then keeps
// parsing HTTP: what it sees is recorded line by line.
const lines: string[] = [];
const raw = createServer((socket: Socket) => {
  let buffered = '';
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
      const head = buffered.slice(0, end);
      buffered = buffered.slice(end + 4);
      lines.push(head.split('\r\n')[0]!);
      socket.write(
        head.includes('/fake101')
          ? 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n'
          : 'HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret',
      );
    }
  });
});
await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
t.teardown(() => raw.close());
const fake = await startHarness({ config: { proxy: { upstream: `http://127.0.0.1:${(raw.address() as AddressInfo).port}` } } });
t.teardown(() => fake.close());

t.test('a 101 without the Sec-WebSocket-Accept for this key is a 502, and nothing behind it is relayed', async (t) => {
  const token = await fake.token(['stream', 'query']);
  const c = talk(
    fake.tollgate.proxyPort,
    `GET ${STREAM}/fake101 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token.secret}\r\n${HANDSHAKE}\r\n` +
      'DELETE /v1/repositories/billing/everything HTTP/1.1\r\nhost: x\r\nx-tollgate-right: admin\r\ncontent-length: 0\r\n\r\n',
  );
  await c.closed;
  t.match(c.text(), /^HTTP\/1\.1 502 /);
  t.notOk(
    lines.some((line) => line.startsWith('DELETE')),
    'the pipelined request never reached the upstream',
  );
});

t.test('an upgrade without a key and version 13, or with a body, is refused before the upstream', async (t) => {
  const token = await fake.token(['stream']);
  const before = lines.length;
  for (const fields of ['connection: upgrade\r\nupgrade: websocket\r\n', `${HANDSHAKE.replace('13', '8')}`, `${HANDSHAKE}content-length: 4\r\n`]) {
    const c = talk(fake.tollgate.proxyPort, `GET ${STREAM}/fake101 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token.secret}\r\n${fields}\r\nbody`);
    await c.closed;
    t.match(c.text(), /^HTTP\/1\.1 400 [\s\S]*unsupported-upgrade/, JSON.stringify(fields));
  }
  t.equal(lines.length, before, 'the upstream saw none of them');
});

t.test('a 101 to a request that asked for no upgrade is a 502, not a response lost from the connection', async (t) => {
  const token = await fake.token(['query']);
  const c = talk(fake.tollgate.proxyPort, `GET /v1/repositories/sensors/fake101 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token.secret}\r\n\r\n`);
  await waitFor(() => c.text().includes('\r\n\r\n'), { what: 'an answer' });
  t.match(c.text(), /^HTTP\/1\.1 502 /);
  c.socket.destroy();
});
