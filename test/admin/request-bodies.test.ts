import { createConnection, type Socket } from 'node:net';
import t from 'tap';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';

// Admin request bodies are bounded before any work grows with them: a size cap per route
// (64 KiB on the tokenless leak report, 1 MiB elsewhere), JSON nesting at most 32 deep, and the
// leak report's per-address budget checked before its body is read. Each refusal below comes
// while the client is still sending: the server never waited for, let alone parsed, the body.

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: { type?: string; detail?: string };
}

/** Opens a connection, writes `head` and `start`, and resolves with the first whole response (or fails after `timeoutMs`). */
function partialRequest(port: number, head: string, start: string | Buffer, timeoutMs = 5000): { socket: Socket; answer: Promise<Answer> } {
  const socket = createConnection({ port, host: '127.0.0.1' });
  socket.on('error', () => {}); // the server may close while the rest of the body is unsent
  const answer = new Promise<Answer>((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms while the body is unsent`)), timeoutMs);
    socket.on('close', () => clearTimeout(timer));
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const end = bytes.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        lines.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length'] ?? 0);
      if (bytes.length < end + 4 + length) return;
      const text = bytes.subarray(end + 4, end + 4 + length).toString('utf8');
      clearTimeout(timer);
      resolve({ status: Number(lines[0]!.split(' ')[1]), headers, body: text === '' ? {} : (JSON.parse(text) as Answer['body']) });
    });
    socket.on('close', () => reject(new Error(`closed before a whole response: ${JSON.stringify(bytes.toString('latin1'))}`)));
  });
  socket.write(head);
  socket.write(start);
  return { socket, answer };
}

const head = (path: string, fields: Record<string, string | number>) =>
  `POST ${path} HTTP/1.1\r\nhost: admin\r\ncontent-type: application/json\r\n${Object.entries(fields)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;

t.test('a leak report from an address whose budget is spent is refused before its body is read', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const spent = await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: Array.from({ length: 1000 }, () => 'tgr_x') });
  t.equal(spent.status, 200, 'the first full report of the minute is taken');
  const port = h.tollgate.adminPort;
  // 60,000 bytes announced, 12 sent: an answer now was given without the body.
  const { socket, answer } = partialRequest(port, head('/v1/tokens/leaked', { 'content-length': 60_000 }), '{"secrets":[');
  t.teardown(() => socket.destroy());
  const refused = await answer;
  t.equal(refused.status, 429);
  t.equal(refused.body.type, '/problems/rate-limited');
  t.match(refused.headers['retry-after'], /^\d+$/);
});

t.test('reports sent at once from one address: bodies past what its budget has left are not read', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  t.equal((await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: Array.from({ length: 999 }, () => 'tgr_x') })).status, 200);
  const port = h.tollgate.adminPort;
  // One secret left: whichever report comes first is let in (its body awaited), the other is refused at once.
  const reports = [0, 1].map(() => partialRequest(port, head('/v1/tokens/leaked', { 'content-length': 60_000 }), '{"secrets":['));
  t.teardown(() => {
    for (const r of reports) r.socket.destroy();
  });
  const refused = await Promise.race(reports.map((r, index) => r.answer.then((answer) => ({ answer, index }))));
  t.equal(refused.answer.status, 429);
  const admitted = reports[1 - refused.index]!;
  admitted.socket.end('"tgr_y"]}'.padEnd(60_000 - 12, ' '));
  t.equal((await admitted.answer).status, 200, 'the one let in is answered once its body is whole');
});

t.test('a leak report announcing more than 64 KiB is refused with 413 before its body is sent', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const { socket, answer } = partialRequest(h.tollgate.adminPort, head('/v1/tokens/leaked', { 'content-length': 64 * 1024 + 1 }), '');
  t.teardown(() => socket.destroy());
  const refused = await answer;
  t.equal(refused.status, 413);
  t.equal(refused.body.type, '/problems/body-too-large');
  t.match(refused.body.detail, /65536 bytes/);
  t.equal(refused.headers.connection, 'close', 'the unread body is not drained: the connection ends after the answer');
});

t.test('a chunked leak report is refused with 413 as soon as it passes 64 KiB', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
  // 70,000 bytes and no last chunk: the body never ends, so only the cap can answer.
  const body = chunk('{"secrets":["') + chunk('a'.repeat(70_000));
  const { socket, answer } = partialRequest(h.tollgate.adminPort, head('/v1/tokens/leaked', { 'transfer-encoding': 'chunked' }), body);
  t.teardown(() => socket.destroy());
  const refused = await answer;
  t.equal(refused.status, 413);
  t.equal(refused.body.type, '/problems/body-too-large');
});

t.test('a leak report nested deeper than 32 is refused with 400 before the rest of it arrives', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  // Nesting is what makes JSON.parse slow; 33 levels are enough to say no, whatever follows.
  const { socket, answer } = partialRequest(h.tollgate.adminPort, head('/v1/tokens/leaked', { 'content-length': 60_000 }), `{"secrets":${'['.repeat(32)}`);
  t.teardown(() => socket.destroy());
  const refused = await answer;
  t.equal(refused.status, 400);
  t.equal(refused.body.type, '/problems/json-too-deep');
  t.match(refused.body.detail, /32/);
});

t.test('a 1 MiB body of nested arrays to an authenticated route is refused with 400 without being parsed', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const fields = { 'content-length': 1 << 20, authorization: `Bearer ${h.adminSecret}` };
  const { socket, answer } = partialRequest(h.tollgate.adminPort, head('/v1/tokens', fields), '['.repeat(4096));
  t.teardown(() => socket.destroy());
  const refused = await answer;
  t.equal(refused.status, 400);
  t.equal(refused.body.type, '/problems/json-too-deep');
});

t.test('32 levels of nesting are allowed: the body reaches validation', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  // {"secrets": [ ... 31 arrays ... ]}: 32 levels with the object.
  const raw = `{"secrets":${'['.repeat(31)}${']'.repeat(31)}}`;
  const res = await call(h, 'POST', '/v1/tokens/leaked', undefined, undefined, raw);
  t.equal(res.status, 400);
  t.equal(res.body.type, '/problems/invalid-request');
  const deeper = await call(h, 'POST', '/v1/tokens/leaked', undefined, undefined, `{"secrets":${'['.repeat(32)}${']'.repeat(32)}}`);
  t.equal(deeper.body.type, '/problems/json-too-deep');
});

t.test('brackets inside strings do not count as nesting', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const res = await call(h, 'POST', '/v1/tokens/leaked', undefined, { secrets: ['['.repeat(100), '\\"[[[[', '{'.repeat(100)] });
  t.equal(res.status, 200);
  t.same(res.body, { received: 3, revoked: 0 });
});

t.test('other admin routes keep the 1 MiB cap, refused by Content-Length before authentication', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const { socket, answer } = partialRequest(h.tollgate.adminPort, head('/v1/users', { 'content-length': (1 << 20) + 1 }), '');
  t.teardown(() => socket.destroy());
  const refused = await answer;
  t.equal(refused.status, 413);
  t.match(refused.body.detail, /1048576 bytes/);
  const fits = await call(h, 'POST', '/v1/users', h.adminSecret, undefined, JSON.stringify({ name: 'alice', grants: {}, pad: 'x'.repeat(100_000) }));
  t.equal(fits.status, 400, 'a body of 100 KB reaches validation there');
  t.equal(fits.body.type, '/problems/invalid-request');
});
