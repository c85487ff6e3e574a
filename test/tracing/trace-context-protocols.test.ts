import type { IncomingMessage } from 'node:http';
import t, { type Test } from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import { curl } from '../helpers/curl.js';
import { echoClient, grpc, type Note, startEchoServer } from '../helpers/grpc.js';
import { bearer, startHarness } from '../helpers/harness.js';
import { CLIENT, type OtlpReceiver, parseTraceparent, SERVER, startOtlpReceiver } from '../helpers/otlp-receiver.js';

// W3C trace context on every protocol (docs/tracing.md): with tracing off, traceparent and
// tracestate reach the upstream exactly as the client sent them and none is made up; with tracing
// on, the upstream's traceparent names the client span Tollgate exported, under the server span
// whose parent is the client's.
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE}-${SPAN}-01`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

/** What the upstreams saw of each protocol's request: its trace fields. */
interface Seen {
  traceparent: string | undefined;
  tracestate: string | undefined;
}

async function exchanges(t: Test, telemetry: Record<string, unknown> | undefined) {
  const echo = await startEchoServer();
  const h = await startHarness({
    config: {
      proxy: { grpcUpstream: `h2c://127.0.0.1:${echo.port}` },
      decision: { listen: '127.0.0.1:0' },
      routes: [
        { path: '/v1/repositories/:repository/stream', methods: { POST: 'stream', WEBSOCKET: 'stream' } },
        { path: '/v1/repositories/:repository/**' },
        { path: '/tollgate.test.Echo/**', repositoryHeader: 'x-repository' },
      ],
      ...(telemetry === undefined ? {} : { telemetry }),
    },
  });
  const wss = new WebSocketServer({ noServer: true });
  const upgrades: IncomingMessage[] = [];
  h.upstream.server.on('upgrade', (req, socket, head) => {
    upgrades.push(req);
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data)));
  });
  const token = await h.token(['query', 'stream']);
  const context = { traceparent: TRACEPARENT, tracestate: TRACESTATE };
  const fields = (headers: IncomingMessage['headers']): Seen => ({
    traceparent: headers.traceparent as string | undefined,
    tracestate: headers.tracestate as string | undefined,
  });
  const seen: Record<string, Seen> = {};

  const plain = await fetch(`${h.proxy}/v1/repositories/sensors/data`, { headers: { ...bearer(token.secret), ...context } });
  t.equal(plain.status, 200);
  seen['http/1.1'] = fields(h.upstream.received.at(-1)!.headers);
  const bare = await fetch(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(token.secret) });
  t.equal(bare.status, 200);
  seen.bare = fields(h.upstream.received.at(-1)!.headers);

  const h2 = await curl([
    '--http2-prior-knowledge',
    '-H',
    `authorization: Bearer ${token.secret}`,
    '-H',
    `traceparent: ${TRACEPARENT}`,
    '-H',
    `tracestate: ${TRACESTATE}`,
    `${h.proxy}/v1/repositories/sensors/data`,
  ]);
  t.equal(h2.httpVersion, '2');
  t.equal(h2.status, 200);
  seen.h2 = fields(h.upstream.received.at(-1)!.headers);

  const client = echoClient(`127.0.0.1:${h.tollgate.proxyPort}`);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token.secret}`);
  metadata.set('x-repository', 'sensors');
  metadata.set('traceparent', TRACEPARENT);
  metadata.set('tracestate', TRACESTATE);
  const reply = await new Promise<Note>((resolve, reject) =>
    (client.Unary as unknown as (r: Note, m: grpc.Metadata, cb: grpc.requestCallback<Note>) => void)({ text: 'hi' }, metadata, (err, note) =>
      err ? reject(err) : resolve(note!),
    ),
  );
  t.equal(reply.text, 'hi|', 'the call went through');
  client.close();
  const call = echo.calls.at(-1)!;
  seen.grpc = { traceparent: call.metadata.get('traceparent')[0] as string | undefined, tracestate: call.metadata.get('tracestate')[0] as string | undefined };

  const ws = new WebSocket(`${h.proxy.replace('http', 'ws')}/v1/repositories/sensors/stream`, { headers: { ...bearer(token.secret), ...context } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send('ping');
  await new Promise((resolve) => ws.once('message', resolve));
  ws.close();
  await new Promise((resolve) => ws.once('close', resolve));
  seen.websocket = fields(upgrades.at(-1)!.headers);

  const decision = await fetch(`http://127.0.0.1:${h.tollgate.decisionPort}/`, {
    headers: { ...bearer(token.secret), ...context, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/v1/repositories/sensors/data' },
  });
  t.equal(decision.status, 200);

  await h.close();
  await echo.close();
  return seen;
}

t.test('tracing off: the trace fields pass to every upstream as they came, and none is made up', async (t) => {
  const seen = await exchanges(t, undefined);
  for (const protocol of ['http/1.1', 'h2', 'grpc', 'websocket']) t.same(seen[protocol], { traceparent: TRACEPARENT, tracestate: TRACESTATE }, protocol);
  t.same(seen.bare, { traceparent: undefined, tracestate: undefined }, 'no traceparent when none came');
});

t.test('tracing on: each upstream gets the client span as parent, under a server span per protocol', async (t) => {
  const receiver: OtlpReceiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const seen = await exchanges(t, { otlp: { endpoint: receiver.endpoint }, sampleRatio: 1 });
  for (const protocol of ['http/1.1', 'h2', 'grpc', 'websocket']) {
    const sent = parseTraceparent(seen[protocol]!.traceparent);
    t.equal(sent?.traceId, TRACE, `${protocol}: the client's trace goes on`);
    t.equal(sent?.flags, '01');
    t.equal(seen[protocol]!.tracestate, TRACESTATE, `${protocol}: tracestate passes`);
    const client = receiver.spans.find((span) => span.spanId === sent?.parentId);
    t.equal(client?.kind, CLIENT, `${protocol}: the upstream's parent is an exported client span`);
    const server = receiver.spans.find((span) => span.spanId === client?.parentSpanId);
    t.equal(server?.kind, SERVER, `${protocol}: under a server span`);
    t.equal(server?.parentSpanId, SPAN, `${protocol}: whose parent is the client's span`);
    t.equal(server?.attributes['tollgate.protocol'], protocol);
  }
  const grpcClient = receiver.spans.find((span) => span.kind === CLIENT && span.attributes['rpc.system'] === 'grpc');
  t.ok(grpcClient, 'the gRPC client span says so');
  const decision = receiver.spans.find((span) => span.attributes['tollgate.protocol'] === 'decision');
  t.equal(decision?.parentSpanId, SPAN, "the decision port's span is the asking proxy's child");
  t.match(decision?.attributes, {
    'tollgate.outcome': 'allowed',
    'http.response.status_code': 200,
    'tollgate.repository': 'sensors',
    'http.route': '/v1/repositories/:repository/**',
  });
});

t.test('sampling: a parent decides for its trace; without one the ratio does', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const h = await startHarness({ config: { telemetry: { otlp: { endpoint: receiver.endpoint }, sampleRatio: 0 } } });
  const token = await h.token(['query']);
  const get = async (headers: Record<string, string>) => {
    const res = await fetch(`${h.proxy}/v1/repositories/sensors/data`, { headers: { ...bearer(token.secret), ...headers } });
    await res.arrayBuffer();
    return parseTraceparent(h.upstream.received.at(-1)!.headers.traceparent as string)!;
  };
  const sampledParent = await get({ traceparent: `00-${TRACE}-${SPAN}-01` });
  const unsampledTrace = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const unsampledParent = await get({ traceparent: `00-${unsampledTrace}-${SPAN}-00` });
  const none = await get({});
  await h.close();

  t.equal(sampledParent.flags, '01', 'a sampled parent is recorded at ratio 0');
  t.ok(receiver.spans.some((span) => span.traceId === TRACE && span.kind === SERVER));
  t.equal(unsampledParent.traceId, unsampledTrace, 'an unsampled parent: the trace goes on');
  t.equal(unsampledParent.flags, '00', 'and stays unsampled');
  t.equal(unsampledParent.parentId === SPAN, false, 'under a span id of this hop');
  t.equal(none.flags, '00', 'no parent at ratio 0: a trace is started, unsampled');
  t.notOk(
    receiver.spans.some((span) => span.traceId === unsampledTrace || span.traceId === none.traceId),
    'nothing recorded of either',
  );
});
