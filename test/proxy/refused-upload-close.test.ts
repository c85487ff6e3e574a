import t from 'tap';
import { startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait-for.js';

const h = await startHarness();
t.teardown(() => h.close());

/** TCP sockets open in this process (the harness's listeners, its upstream's, and the test's own). */
const openSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

// A refusal given before the body was read ends the connection (FIN) with the body unread, and
// reading stays held back for that body. The client's own close must still be seen: before, it
// never was, so the socket, its connection object and its file descriptor stayed for the life of
// the process (found by the soak: one per refused upload, ~80 a second per replica).
t.test('after a refused upload the connection closes on both sides once the client closes', async (t) => {
  const before = openSockets();
  const body = Buffer.alloc(64 * 1024, 0x61);
  const head = `POST /v1/repositories/sensors/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tgr_not_a_token\r\nContent-Length: ${body.length}\r\n\r\n`;
  for (let i = 0; i < 3; i++) {
    const res = await rawRequest(h.tollgate.proxyPort, Buffer.concat([Buffer.from(head), body]));
    t.equal(res.status, 401);
    t.match(res.text, /connection: close/i);
  }
  await waitFor(() => openSockets() <= before, { what: `the proxy's side of the refused uploads to close (${openSockets()} open, ${before} before)` });
  t.equal(h.upstream.received.length, 0, 'nothing reached the upstream');
});
