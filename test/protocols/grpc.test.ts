import t from 'tap';
import { echoClient, grpc, type Note, startEchoServer } from '../helpers/grpc.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait-for.js';

const echo = await startEchoServer();
const h = await startHarness({
  config: {
    proxy: { grpcUpstream: `h2c://127.0.0.1:${echo.port}` },
    routes: [{ path: '/v1/repositories/:repository/**' }, { path: '/tollgate.test.Echo/**', repositoryHeader: 'x-repository' }],
  },
});
t.teardown(async () => {
  await h.close();
  await echo.close();
});
const streamer = await h.token(['stream']);
const reader = await h.token(['query']);
const client = echoClient(`127.0.0.1:${h.tollgate.proxyPort}`);
t.teardown(() => client.close());

const withToken = (secret: string, extra: Record<string, string> = {}) => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', bearer(secret).authorization);
  for (const [name, value] of Object.entries(extra)) metadata.set(name, value);
  return metadata;
};

interface Finished {
  error: grpc.ServiceError | null;
  reply: Note | undefined;
  headers: grpc.Metadata | undefined;
  status: grpc.StatusObject | undefined;
}

/** A unary call on `method` (a path), its reply or error, and what came in headers and trailers. */
function unary(method: string, metadata: grpc.Metadata, request: Note = { text: 'hi' }, options: grpc.CallOptions = {}): Promise<Finished> {
  return new Promise((resolve) => {
    const out: Finished = { error: null, reply: undefined, headers: undefined, status: undefined };
    let ended = 0;
    const done = () => ++ended === 2 && resolve(out);
    const call = client.makeUnaryRequest(
      method,
      (note: Note) => Buffer.from(JSON.stringify(note)),
      (buffer: Buffer) => buffer as unknown as Note,
      request,
      metadata,
      options,
      (error, reply) => {
        out.error = error;
        out.reply = reply;
        done();
      },
    );
    call.on('metadata', (headers) => (out.headers = headers));
    call.on('status', (status) => {
      out.status = status;
      done();
    });
  });
}

/** The Echo stub's own unary call. */
function stubUnary(name: string, metadata: grpc.Metadata, request: Note, options: grpc.CallOptions = {}): Promise<Finished> {
  return new Promise((resolve) => {
    const out: Finished = { error: null, reply: undefined, headers: undefined, status: undefined };
    let ended = 0;
    const done = () => ++ended === 2 && resolve(out);
    const call = (client[name] as unknown as (r: Note, m: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<Note>) => grpc.ClientUnaryCall)(
      request,
      metadata,
      options,
      (error, reply) => {
        out.error = error;
        out.reply = reply;
        done();
      },
    );
    call.on('metadata', (headers) => (out.headers = headers));
    call.on('status', (status) => {
      out.status = status;
      done();
    });
  });
}

t.test('a unary call passes with its metadata, initial metadata and trailers', async (t) => {
  const res = await stubUnary('Unary', withToken(streamer.secret, { 'x-client-meta': 'from client' }), { text: 'ping' });
  t.equal(res.error, null);
  t.equal(res.reply!.text, 'ping|from client');
  t.equal(res.headers!.get('x-server-initial')[0], 'hello', 'initial metadata passes');
  t.equal(res.status!.code, grpc.status.OK);
  t.equal(res.status!.metadata.get('x-server-trailer')[0], 'goodbye', 'trailers pass');
  t.ok(res.headers!.get('x-request-id')[0], 'the response carries x-request-id');
  const seen = echo.calls.at(-1)!;
  t.equal(seen.metadata.get('x-tollgate-repository')[0], 'sensors');
  t.equal(seen.metadata.get('x-tollgate-right')[0], 'stream');
  t.equal(seen.metadata.get('x-tollgate-token-id')[0], streamer.token.id);
  t.same(seen.metadata.get('authorization'), [], 'the token does not reach the upstream');
});

t.test('a client-streaming call passes', async (t) => {
  const reply = await new Promise<Note>((resolve, reject) => {
    const call = (client.Upload as unknown as (m: grpc.Metadata, cb: grpc.requestCallback<Note>) => grpc.ClientWritableStream<Note>)(
      withToken(streamer.secret),
      (err, note) => (err ? reject(err) : resolve(note!)),
    );
    for (let i = 0; i < 10; i++) call.write({ data: Buffer.alloc(1000, i) });
    call.end();
  });
  t.equal(reply.text, 'notes=10');
  t.equal(Number(reply.count), 10_000);
});

t.test('a server-streaming call passes, with its trailers', async (t) => {
  const notes: string[] = [];
  const status = await new Promise<grpc.StatusObject>((resolve) => {
    const call = (client.Download as unknown as (r: Note, m: grpc.Metadata) => grpc.ClientReadableStream<Note>)({ count: 50 }, withToken(streamer.secret));
    call.on('data', (note: Note) => notes.push(note.text!));
    call.on('error', () => {});
    call.on('status', resolve);
  });
  t.equal(status.code, grpc.status.OK);
  t.equal(notes.length, 50);
  t.equal(notes[49], 'part 49');
  t.equal(status.metadata.get('x-server-trailer')[0], 'goodbye');
});

t.test('a bidirectional call passes message by message', async (t) => {
  const call = (client.Chat as unknown as (m: grpc.Metadata) => grpc.ClientDuplexStream<Note, Note>)(withToken(streamer.secret));
  const replies: string[] = [];
  const status = new Promise<grpc.StatusObject>((resolve) => {
    call.on('status', resolve);
    call.on('error', () => {});
  });
  // Each message is answered before the next is sent: the stream is relayed, not buffered.
  for (const word of ['one', 'two', 'three']) {
    const reply = new Promise<string>((resolve) => call.once('data', (note: Note) => resolve(note.text!)));
    call.write({ text: word });
    replies.push(await reply);
  }
  call.end();
  t.same(replies, ['echo one', 'echo two', 'echo three']);
  t.equal((await status).code, grpc.status.OK);
});

t.test('refused calls get trailers-only responses with the mapped status', async (t) => {
  const none = await stubUnary('Unary', new grpc.Metadata(), { text: 'x' });
  t.equal(none.status!.code, grpc.status.UNAUTHENTICATED, '401 -> 16');
  t.match(none.status!.details, /Authentication required/);
  const bad = await stubUnary('Unary', withToken('tgr_notarealtoken'), { text: 'x' });
  t.equal(bad.status!.code, grpc.status.UNAUTHENTICATED, 'an invalid token -> 16');
  t.notMatch(bad.status!.details, /notarealtoken/, 'the token is never echoed');
  const right = await stubUnary('Unary', withToken(reader.secret), { text: 'x' });
  t.equal(right.status!.code, grpc.status.PERMISSION_DENIED, '403 (no stream right) -> 7');
  const elsewhere = await stubUnary('Unary', withToken(streamer.secret, { 'x-repository': 'billing' }), { text: 'x' });
  t.equal(elsewhere.status!.code, grpc.status.PERMISSION_DENIED, 'another repository in repositoryHeader -> 7');
  const malformed = await stubUnary('Unary', withToken(streamer.secret, { 'x-repository': 'Not A Name' }), { text: 'x' });
  t.equal(malformed.status!.code, grpc.status.PERMISSION_DENIED, 'a value that is no repository name -> 7');
  const unrouted = await unary('/other.Service/Method', withToken(streamer.secret));
  t.equal(unrouted.status!.code, grpc.status.UNIMPLEMENTED, '404 -> 12');
  const badPath = await unary('/tollgate.test.Echo/%2e%2e', withToken(streamer.secret));
  t.equal(badPath.status!.code, grpc.status.INVALID_ARGUMENT, '400 -> 3');
  t.equal(
    echo.calls.filter((call) => call.method === 'Unary' && call.metadata.get('x-client-meta').length === 0).length,
    0,
    'no refused call reached the upstream',
  );
});

t.test('repositoryHeader names the repository the call is checked against', async (t) => {
  const admin = await h.token(['stream'], '*');
  const res = await stubUnary('Unary', withToken(admin.secret, { 'x-repository': 'billing', 'x-client-meta': 'repo' }), { text: 'r' });
  t.equal(res.status!.code, grpc.status.OK);
  t.equal(echo.calls.at(-1)!.metadata.get('x-tollgate-repository')[0], 'billing');
});

t.test('a deadline that passes upstream ends the call with 4 DEADLINE_EXCEEDED', async (t) => {
  const res = await stubUnary('Hang', withToken(streamer.secret), { text: 'slow' }, { deadline: Date.now() + 300 });
  t.equal(res.status!.code, grpc.status.DEADLINE_EXCEEDED);
  const seen = echo.calls.at(-1)!;
  t.equal(seen.method, 'Hang');
  t.not(seen.deadline, Infinity, 'the upstream got the grpc-timeout');
});

t.test('a call the client cancels is cancelled upstream too', async (t) => {
  const before = echo.calls.length;
  const call = (client.Hang as unknown as (r: Note, m: grpc.Metadata, cb: grpc.requestCallback<Note>) => grpc.ClientUnaryCall)(
    { text: 'wait' },
    withToken(streamer.secret),
    () => {},
  );
  await waitFor(() => echo.calls.length > before, { what: 'the call upstream' });
  const seen = echo.calls.at(-1)!;
  t.equal(seen.cancelled, false);
  call.cancel();
  await waitFor(() => seen.cancelled, { what: 'the upstream to see the cancel' });
  t.equal(seen.cancelled, true);
});

t.test('calls count in requests_total like any request, with no label per method', async (t) => {
  const allowed = async () =>
    Number(
      /^tollgate_requests_total\{right="stream",outcome="allowed",credential="token"\} (\d+)/m.exec(await (await fetch(`${h.admin}/metrics`)).text())?.[1] ?? 0,
    );
  const before = await allowed();
  await stubUnary('Unary', withToken(streamer.secret), { text: 'count me' });
  t.equal(await allowed(), before + 1);
  t.notMatch(await (await fetch(`${h.admin}/metrics`)).text(), /Echo|Unary/);
});

t.test('a gRPC upstream that is down gives 14 UNAVAILABLE', async (t) => {
  const down = await startHarness({
    config: { proxy: { grpcUpstream: 'h2c://127.0.0.1:1' }, routes: [{ path: '/tollgate.test.Echo/**' }] },
  });
  t.teardown(() => down.close());
  const token = await down.token(['stream']);
  const other = echoClient(`127.0.0.1:${down.tollgate.proxyPort}`);
  t.teardown(() => other.close());
  const status = await new Promise<grpc.StatusObject>((resolve) => {
    const call = (other.Unary as unknown as (r: Note, m: grpc.Metadata, cb: grpc.requestCallback<Note>) => grpc.ClientUnaryCall)(
      { text: 'x' },
      withToken(token.secret),
      () => {},
    );
    call.on('status', resolve);
  });
  t.equal(status.code, grpc.status.UNAVAILABLE);
});
