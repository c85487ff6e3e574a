import fc from 'fast-check';
import t from 'tap';
import type { HeadSpans } from '../../src/http1/head-spans.js';
import { http2ResponseHeaders, http2ResponseHeadersOf } from '../../src/proxy/http2-headers.js';
import type { UpstreamUser } from '../../src/proxy/upstream-connection.js';
import { cutInto, feedUpstream, fieldArb, nameCase } from '../helpers/upstream-heads.js';

// An HTTP/1.1 upstream's response head as HTTP/2 fields, made from the bytes of the read that
// carried it (http2ResponseHeadersOf, what the HTTP/2 front takes) against the string path
// (FieldList, trimValues, http2ResponseHeaders) and against the string path as it was before
// its Connection shortcut (a set of every name a Connection lists): for generated heads, parsed
// by the real UpstreamConnection, all give the same list; the bytes path declines only a
// Connection that names a field other than keep-alive.

const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'http2-settings',
]);

/** http2ResponseHeaders as it was before the Connection shortcut: the reference. */
function reference(status: number, raw: readonly string[], requestId: string, extra?: readonly string[]): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const part of raw[i + 1]!.split(',')) named.add(part.trim().toLowerCase());
  }
  const extraNames = new Set((extra ?? []).filter((_, i) => i % 2 === 0));
  const out = [':status', String(status)];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (DROPPED.has(name) || named.has(name) || name === 'x-request-id' || name === 'host' || extraNames.has(name)) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push('x-request-id', requestId, ...(extra ?? []));
  return out;
}

interface Seen {
  spans?: string[] | 'declined';
  strings?: string[];
  raw?: string[];
}

function parse(pieces: Buffer[], requestId: string, extra: string[] | undefined): Seen {
  const seen: Seen = {};
  const user: UpstreamUser = {
    isHead: false,
    retryOnce: () => false,
    upstreamStarted() {},
    responseHeadSpans(status: number, spans: HeadSpans) {
      seen.spans = http2ResponseHeadersOf(status, spans, requestId, extra) ?? 'declined';
      return false; // the strings follow, to compare
    },
    responseHead(status, _reason, rawHeaders) {
      seen.raw = [...rawHeaders];
      seen.strings = http2ResponseHeaders(status, rawHeaders, requestId, extra);
    },
    responseData: () => true,
    responseEnd() {},
    upstreamDrained() {},
    upstreamFailed() {},
  };
  feedUpstream(user, pieces);
  return seen;
}

const name = fc
  .oneof(
    fc.constantFrom(
      'connection',
      'keep-alive',
      'close',
      'proxy-connection',
      'te',
      'trailer',
      'upgrade',
      'host',
      'x-request-id',
      'date',
      'age',
      'cache-control',
      'content-type',
      'etag',
      'x-custom',
      'set-cookie',
      'vary',
      'ratelimit',
      'ratelimit-policy',
    ),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,18}$/),
    fc.stringMatching(/^[!#$%&'*+.^_`|~A-Za-z0-9-]{1,20}$/),
  )
  .chain(nameCase);

const field = fieldArb(name, ['keep-alive', 'close', 'Keep-Alive', 'CLOSE', 'upgrade', 'x-custom', 'keep-alive, x-custom', 'close, etag', 'te', 'date', ''], 6);

const response = fc
  .record({
    status: fc.constantFrom(200, 204, 404, 500),
    // Framing is the parser's, and the head ends with its own content-length.
    fields: fc.array(
      field.filter((f) => !['content-length', 'transfer-encoding'].includes(f.name.toLowerCase())),
      { maxLength: 12 },
    ),
    cuts: fc.oneof(fc.constant<number[]>([]), fc.array(fc.nat(), { maxLength: 3 })),
    requestId: fc.stringMatching(/^[!#-[\]-~]{1,40}$/),
    limited: fc.boolean(),
  })
  .map((r) => {
    let head = `HTTP/1.1 ${r.status} Whatever\r\n`;
    for (const f of r.fields) head += `${f.name}:${f.before}${f.value}${f.after}\r\n`;
    head += 'content-length: 0\r\n';
    const bytes = Buffer.from(`${head}\r\n`, 'latin1');
    const pieces = cutInto(bytes, r.cuts);
    const extra = r.limited ? ['ratelimit-policy', '"q";q=10;w=60', 'ratelimit', '"q";r=9;t=60'] : undefined;
    return { ...r, extra, pieces, whole: pieces.length === 1 };
  });

t.test('the bytes path and the string path give the list the reference gives', async (t) => {
  let taken = 0;
  let declined = 0;
  fc.assert(
    fc.property(response, (r) => {
      const seen = parse(r.pieces, r.requestId, r.extra);
      if (seen.strings === undefined || seen.raw === undefined) throw new Error('the head never reached the user');
      const expected = reference(r.status, seen.raw, r.requestId, r.extra);
      if (JSON.stringify(seen.strings) !== JSON.stringify(expected))
        throw new Error(`strings differ: ${JSON.stringify(seen.strings)} vs ${JSON.stringify(expected)}`);
      if (seen.spans === undefined) {
        if (r.whole) throw new Error('a head whole in one read was not offered as spans');
        return;
      }
      const namesOther = r.fields.some(
        (f) => f.name.toLowerCase() === 'connection' && !['', 'keep-alive'].includes(`${f.value}${f.after}`.trim().toLowerCase()),
      );
      if (seen.spans === 'declined') {
        if (!namesOther) throw new Error('a head whose Connection names no other field was declined');
        declined++;
        return;
      }
      if (namesOther) throw new Error('a Connection naming fields was taken as spans');
      taken++;
      if (JSON.stringify(seen.spans) !== JSON.stringify(expected))
        throw new Error(`spans differ: ${JSON.stringify(seen.spans)} vs ${JSON.stringify(expected)}`);
    }),
    { numRuns: 2000 },
  );
  t.ok(taken > 500, `most heads were taken as spans (${taken})`);
  t.ok(declined > 0, `some were declined (${declined})`);
});

t.test("node:http's own head: capitalized names, keep-alive, a date, no string per common name", async (t) => {
  const head =
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\nDate: Fri, 04 Dec 2026 18:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n';
  const seen = parse([Buffer.from(head, 'latin1')], 'req-1', undefined);
  const list = [':status', '200', 'content-type', 'application/json', 'content-length', '12', 'date', 'Fri, 04 Dec 2026 18:00:00 GMT', 'x-request-id', 'req-1'];
  t.same(seen.spans, list);
  t.same(seen.strings, list);
});
