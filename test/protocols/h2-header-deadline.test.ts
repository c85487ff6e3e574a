import { createConnection, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import t from 'tap';
import { makeCertificate, SecretVolume } from '../helpers/certificates.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

// proxy.timeouts.headers on HTTP/2: a header block (HEADERS to END_HEADERS, RFC 9113 §4.3) that
// is not whole within the deadline ends the connection, as a head not whole within it does on
// HTTP/1.1. A raw client writes the frames by hand, so nothing in between fixes them up.

const DEADLINE_MS = 1000;
const h = await startHarness({ config: { proxy: { timeouts: { headers: `${DEADLINE_MS}ms` } } } });
t.teardown(() => h.close());
const data = await h.token(['query']);

const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** An HTTP/2 frame (RFC 9113 §4.1). */
function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** One field as an HPACK literal without indexing, new name (RFC 7541 §6.2.2); short strings only. */
const literal = (name: string, value: string) =>
  Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1')]);

/** A GET's header block: :method GET, :scheme http (static table), then :path, :authority and `fields`. */
const getBlock = (path: string, fields: Array<[string, string]> = []) =>
  Buffer.concat([Buffer.from([0x82, 0x86]), literal(':path', path), literal(':authority', 'proxy'), ...fields.map(([name, value]) => literal(name, value))]);

/** A client that writes frames as told; it answers SETTINGS, and PING only when `answersPings`. */
class RawClient {
  readonly frames: Frame[] = [];
  readonly socket: Socket;
  isClosed = false;
  private bytes = Buffer.alloc(0);
  private inBlock = false;
  private readonly held: Buffer[] = [];

  constructor(
    port: number,
    private readonly answersPings: boolean,
    isTls = false,
  ) {
    this.socket = isTls
      ? connectTls({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false })
      : createConnection({ port, host: '127.0.0.1' });
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.isClosed = true));
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
    this.socket.write(frame(SETTINGS, 0, 0));
  }

  /** Writes frames; a PING answer waits while a header block is open, as no frame may come between (RFC 9113 §6.10). */
  send(bytes: Buffer): void {
    if (this.isClosed) return;
    this.socket.write(bytes);
    const type = bytes[3];
    if (type === HEADERS || type === CONTINUATION) this.inBlock = (bytes[4]! & END_HEADERS) === 0;
    if (!this.inBlock) for (const answer of this.held.splice(0)) this.socket.write(answer);
  }

  has(check: (f: Frame) => boolean): boolean {
    return this.frames.some(check);
  }

  private read(chunk: Buffer): void {
    this.bytes = Buffer.concat([this.bytes, chunk]);
    while (this.bytes.length >= 9) {
      const length = this.bytes.readUIntBE(0, 3);
      if (this.bytes.length < 9 + length) return;
      const f = { type: this.bytes[3]!, flags: this.bytes[4]!, stream: this.bytes.readUInt32BE(5) & 0x7fffffff, payload: this.bytes.subarray(9, 9 + length) };
      this.bytes = this.bytes.subarray(9 + length);
      this.frames.push(f);
      if (f.type === SETTINGS && (f.flags & ACK) === 0) this.send(frame(SETTINGS, ACK, 0));
      if (f.type === PING && (f.flags & ACK) === 0 && this.answersPings) {
        const answer = frame(PING, ACK, 0, f.payload);
        if (this.inBlock) this.held.push(answer);
        else this.send(answer);
      }
    }
  }
}

t.test('a header block trickled in CONTINUATION frames ends the connection at the headers deadline', async (t) => {
  const client = new RawClient(h.tollgate.proxyPort, false);
  t.teardown(() => client.socket.destroy());
  await waitFor(() => client.has((f) => f.type === SETTINGS && (f.flags & ACK) === 0), { what: "the server's SETTINGS" });
  const block = getBlock('/v1/repositories/sensors/q', [['x-padding', 'p'.repeat(100)]]);
  const started = performance.now();
  client.send(frame(HEADERS, END_STREAM, 1, block.subarray(0, 4)));
  // One byte of the block every 400 ms: each frame is activity, so no idle timer fires, and the
  // deadline is up before nghttp2's own cap on CONTINUATION frames per block (8) is reached.
  let sent = 0;
  const trickle = setInterval(() => {
    sent++;
    client.send(frame(CONTINUATION, 0, 1, block.subarray(3 + sent, 4 + sent)));
  }, 400);
  t.teardown(() => clearInterval(trickle));
  await waitFor(() => client.isClosed, { what: 'the connection to end', timeoutMs: 6000 });
  clearInterval(trickle);
  const elapsed = performance.now() - started;
  t.ok(client.isClosed, 'the connection ended');
  t.ok(
    client.has((f) => f.type === GOAWAY),
    'with GOAWAY',
  );
  t.ok(elapsed >= DEADLINE_MS * 0.9, `not before the deadline (${Math.round(elapsed)} ms)`);
  t.ok(elapsed < DEADLINE_MS * 2.5, `about at the deadline (${Math.round(elapsed)} ms, ${sent} CONTINUATION frames)`);
  t.ok(sent < 8, 'before nghttp2 would have refused the block for its frame count');
  t.equal(h.upstream.received.length, 0, 'nothing was forwarded');
});

t.test('a header block that stalls after HEADERS ends the connection at the deadline too', async (t) => {
  const client = new RawClient(h.tollgate.proxyPort, false);
  t.teardown(() => client.socket.destroy());
  await waitFor(() => client.has((f) => f.type === SETTINGS && (f.flags & ACK) === 0), { what: "the server's SETTINGS" });
  const started = performance.now();
  client.send(frame(HEADERS, END_STREAM, 1, getBlock('/v1/repositories/sensors/q').subarray(0, 4)));
  await waitFor(() => client.isClosed, { what: 'the connection to end', timeoutMs: 6000 });
  const elapsed = performance.now() - started;
  t.ok(
    client.has((f) => f.type === GOAWAY),
    'with GOAWAY',
  );
  t.ok(elapsed >= DEADLINE_MS * 0.9 && elapsed < DEADLINE_MS * 2.5, `at about the deadline (${Math.round(elapsed)} ms)`);
});

t.test('an ordinary client is not cut: a block split over frames in time, and an idle connection after a refused block', async (t) => {
  const client = new RawClient(h.tollgate.proxyPort, true);
  t.teardown(() => client.socket.destroy());
  await waitFor(() => client.has((f) => f.type === SETTINGS && (f.flags & ACK) === 0), { what: "the server's SETTINGS" });
  const auth: [string, string] = ['authorization', bearer(data.secret).authorization];
  const answered = (stream: number) => client.has((f) => f.type === HEADERS && f.stream === stream);

  const block = getBlock('/v1/repositories/sensors/q', [auth]);
  client.send(frame(HEADERS, END_STREAM, 1, block.subarray(0, 10)));
  await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS / 3)); // a slow link, well within the deadline
  client.send(frame(CONTINUATION, END_HEADERS, 1, block.subarray(10)));
  await waitFor(() => answered(1), { what: 'the answer on stream 1' });

  // A name in capitals is malformed (RFC 9113 §8.2.1): nghttp2 resets the stream and the
  // application never sees it, so only the PING the client answers shows the block is over.
  client.send(frame(HEADERS, END_STREAM | END_HEADERS, 3, getBlock('/v1/repositories/sensors/q', [['X-Capital', 'x'], auth])));
  await waitFor(() => client.has((f) => f.type === RST_STREAM && f.stream === 3), { what: 'stream 3 reset' });
  // Absence of a cut can only be shown over time: idle past twice the deadline.
  const idleSince = performance.now();
  await waitFor(() => client.isClosed || performance.now() - idleSince > DEADLINE_MS * 2.5, { what: 'two deadlines to pass', timeoutMs: DEADLINE_MS * 4 });
  t.notOk(client.isClosed, 'still open');
  t.notOk(
    client.has((f) => f.type === GOAWAY),
    'no GOAWAY',
  );
  client.send(frame(HEADERS, END_STREAM | END_HEADERS, 5, getBlock('/v1/repositories/sensors/q', [auth])));
  await waitFor(() => answered(5), { what: 'the answer on stream 5' });
  t.pass('a later request on the same connection is served');
});

t.test('over TLS (ALPN h2) the same deadline applies', async (t) => {
  const dir = t.testdir({});
  const volume = new SecretVolume(dir, makeCertificate(30));
  const tls = await startHarness({ config: { proxy: { tls: { cert: volume.certPath, key: volume.keyPath }, timeouts: { headers: `${DEADLINE_MS}ms` } } } });
  t.teardown(() => tls.close());
  const client = new RawClient(tls.tollgate.proxyPort, false, true);
  t.teardown(() => client.socket.destroy());
  await waitFor(() => client.has((f) => f.type === SETTINGS && (f.flags & ACK) === 0), { what: "the server's SETTINGS" });
  const started = performance.now();
  client.send(frame(HEADERS, END_STREAM, 1, getBlock('/v1/repositories/sensors/q').subarray(0, 4)));
  await waitFor(() => client.isClosed, { what: 'the connection to end', timeoutMs: 6000 });
  const elapsed = performance.now() - started;
  t.ok(
    client.has((f) => f.type === GOAWAY),
    'with GOAWAY',
  );
  t.ok(elapsed >= DEADLINE_MS * 0.9 && elapsed < DEADLINE_MS * 2.5, `at about the deadline (${Math.round(elapsed)} ms)`);
});
