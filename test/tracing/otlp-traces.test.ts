import t from 'tap';
import { bearer, startHarness } from '../helpers/harness.js';
import { CLIENT, INTERNAL, parseTraceparent, type ReceivedSpan, SERVER, startOtlpReceiver } from '../helpers/otlp-receiver.js';

// Traces sent to a real OTLP/HTTP receiver (docs/tracing.md): every request is made, then
// Tollgate shuts down (which sends the spans still queued), then what arrived is decoded and
// checked against what the upstream received.
const receiver = await startOtlpReceiver();
t.teardown(() => receiver.close());
const h = await startHarness({
  config: {
    telemetry: { otlp: { endpoint: receiver.endpoint, headers: { 'x-collector-key': 'collector-key-1' } }, sampleRatio: 1, serviceName: 'tollgate-test' },
  },
});
const reader = await h.token(['query']);
const events = await h.token(['query']);

const PARENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

// A: first use of the token (a cache miss: the store is asked), under the client's trace.
const a = await fetch(`${h.proxy}/v1/repositories/sensors/data?q=private-query-text`, {
  headers: { ...bearer(reader.secret), traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01`, tracestate: 'vendor=abc,other=1' },
});
await a.arrayBuffer();
const seenA = h.upstream.received.at(-1)!;
// B: the same token again (cached), no trace context: Tollgate starts the trace.
const b = await fetch(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(reader.secret) });
await b.arrayBuffer();
const seenB = h.upstream.received.at(-1)!;
// C: a token in the query string (the events route takes one there).
const c = await fetch(`${h.proxy}/v1/repositories/sensors/events?access_token=${events.secret}&since=9`);
await c.arrayBuffer();
// D: refused: a token whose checksum fails.
const d = await fetch(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(`${reader.secret.slice(0, -4)}AAAA`) });
await d.arrayBuffer();
// E: an admin call.
const e = await fetch(`${h.admin}/v1/tokens/${reader.token.id}`, { headers: bearer(h.adminSecret) });
await e.arrayBuffer();
await h.close();

const serverSpans = receiver.spans.filter((span) => span.kind === SERVER);
const inTrace = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
const childrenOf = (span: ReceivedSpan) => receiver.spans.filter((other) => other.parentSpanId === span.spanId);

t.test('the statuses were what the requests asked for', async (t) => {
  t.same([a.status, b.status, c.status, d.status, e.status], [200, 200, 200, 401, 200]);
});

t.test('a request with a traceparent: the server span is its child, with a store lookup and a client span under it', async (t) => {
  const spans = inTrace(PARENT_TRACE);
  const server = spans.find((span) => span.kind === SERVER)!;
  t.ok(server, 'a server span in the client trace');
  t.equal(server.parentSpanId, PARENT_SPAN, "the client's span is its parent");
  t.equal(server.name, 'GET /v1/repositories/:repository/**', 'named for the route pattern');
  t.match(server.attributes, {
    'http.request.method': 'GET',
    'http.route': '/v1/repositories/:repository/**',
    'url.path': '/v1/repositories/sensors/data',
    'http.response.status_code': 200,
    'tollgate.right': 'query',
    'tollgate.outcome': 'allowed',
    'tollgate.token.id': reader.token.id,
    'tollgate.repository': 'sensors',
    'tollgate.protocol': 'http/1.1',
    'tollgate.credential': 'token',
  });
  const lookup = spans.find((span) => span.kind === INTERNAL)!;
  t.ok(lookup, 'a span for the store lookup (first use: a cache miss)');
  t.equal(lookup.parentSpanId, server.spanId);
  t.equal(lookup.name, 'tollgate.store.lookup');
  const client = spans.find((span) => span.kind === CLIENT)!;
  t.ok(client, 'a client span for the upstream exchange');
  t.equal(client.parentSpanId, server.spanId);
  t.equal(client.attributes['http.response.status_code'], 200);
  t.equal(spans.length, 3, 'no other span in the trace');
});

t.test('the upstream gets the client span as its parent, and the tracestate that came', async (t) => {
  const client = inTrace(PARENT_TRACE).find((span) => span.kind === CLIENT)!;
  t.same(parseTraceparent(seenA.headers.traceparent as string), { traceId: PARENT_TRACE, parentId: client.spanId, flags: '01' });
  t.equal(seenA.headers.tracestate, 'vendor=abc,other=1');
  t.equal(seenA.rawHeaders.filter((name) => name.toLowerCase() === 'traceparent').length, 1, "the client's traceparent is replaced, not repeated");
});

t.test('a request without a traceparent starts a trace; a cached token asks no store', async (t) => {
  const sent = parseTraceparent(seenB.headers.traceparent as string)!;
  t.ok(sent, 'the upstream gets a traceparent Tollgate started');
  t.equal(sent.flags, '01');
  const spans = inTrace(sent.traceId);
  const server = spans.find((span) => span.kind === SERVER)!;
  t.equal(server.parentSpanId, '', 'a root span');
  const client = spans.find((span) => span.kind === CLIENT)!;
  t.equal(client.spanId, sent.parentId);
  t.equal(client.parentSpanId, server.spanId);
  t.notOk(
    spans.some((span) => span.kind === INTERNAL),
    'no store lookup on a cache hit',
  );
  t.equal(seenB.headers.tracestate, undefined, 'no tracestate made up');
});

t.test('a token in the query: the span has the path without its query', async (t) => {
  const server = serverSpans.find((span) => span.attributes['http.route'] === '/v1/repositories/:repository/events')!;
  t.ok(server);
  t.equal(server.attributes['url.path'], '/v1/repositories/sensors/events');
  t.equal(server.attributes['tollgate.token.id'], events.token.id);
});

t.test('a refusal: a server span with its outcome, status and reason, and no client span', async (t) => {
  const server = serverSpans.find((span) => span.attributes['http.response.status_code'] === 401)!;
  t.ok(server);
  t.match(server.attributes, { 'tollgate.outcome': 'unauthenticated', 'tollgate.reason': 'invalid_token', 'tollgate.right': 'none' });
  t.equal(server.attributes['tollgate.token.id'], undefined);
  t.equal(server.status, 0, 'a refusal is no server error');
  t.notOk(childrenOf(server).some((span) => span.kind === CLIENT));
});

t.test('an admin call: a server span named for its route pattern', async (t) => {
  const admin = serverSpans.find((span) => span.attributes['tollgate.port'] === 'admin')!;
  t.ok(admin);
  t.equal(admin.name, 'GET /v1/tokens/{id}');
  t.match(admin.attributes, { 'http.route': '/v1/tokens/{id}', 'http.response.status_code': 200, 'http.request.method': 'GET' });
});

t.test('the service name and the collector headers are what telemetry says', async (t) => {
  t.ok(receiver.spans.length > 0);
  t.ok(receiver.spans.every((span) => span.resource['service.name'] === 'tollgate-test'));
  t.ok(receiver.headers.every((headers) => headers['x-collector-key'] === 'collector-key-1'));
});

t.test('no secret and no query string is ever sent to the collector', async (t) => {
  const sent = receiver.bodies.join('\n');
  for (const secret of [reader.secret, events.secret, h.adminSecret]) t.notOk(sent.includes(secret), 'a token secret');
  t.notOk(sent.includes(reader.secret.slice(0, -4)), 'the refused token, even in part');
  for (const text of ['private-query-text', 'access_token', 'since=9', '?']) t.notOk(sent.includes(text), `no ${text}`);
  t.notOk(sent.includes('collector-key-1'), "the exporter's own headers are not span data");
});
