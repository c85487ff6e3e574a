import { createConnection } from 'node:net';
import t from 'tap';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

const h = await startHarness();
t.teardown(() => h.close());
const token = await h.token(['stream']);

function head(secret: string | undefined, length: number): string {
  return [
    'POST /v1/repositories/sensors/stream HTTP/1.1',
    'Host: x',
    ...(secret ? [`Authorization: ${bearer(secret).authorization}`] : []),
    `Content-Length: ${length}`,
    'Expect: 100-continue',
    'Connection: close',
    '',
    '',
  ].join('\r\n');
}

t.beforeEach(() => {
  h.upstream.received.length = 0;
});

t.test('a bad token gets 401 before 100 Continue, so no body is sent', async (t) => {
  const socket = createConnection({ port: h.tollgate.proxyPort, host: '127.0.0.1' });
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString()));
  socket.write(head(undefined, 5));
  await waitFor(() => text.includes('\r\n\r\n'), { what: 'a response' });
  t.match(text, /^HTTP\/1\.1 401 /);
  t.notMatch(text, /100 Continue/);
  socket.destroy();
  t.equal(h.upstream.received.length, 0);
});

t.test('a good token gets 100 Continue, then the body streams to the upstream', async (t) => {
  const socket = createConnection({ port: h.tollgate.proxyPort, host: '127.0.0.1' });
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString()));
  socket.write(head(token.secret, 5));
  await waitFor(() => text.includes('100 Continue'), { what: '100 Continue' });
  socket.write('hello');
  await waitFor(() => /HTTP\/1\.1 200/.test(text), { what: 'the final response' });
  socket.destroy();
  t.equal(h.upstream.received[0]?.bytes, 5);
  t.equal(h.upstream.received[0]?.headers.expect, undefined, 'Expect is not forwarded');
});
