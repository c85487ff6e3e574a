import fc from 'fast-check';
import t from 'tap';
import type { HeadSpans } from '../../src/http1/head-spans.js';
import { downstreamHeaderLines, responseFieldsOf, writeResponseFields } from '../../src/proxy/headers.js';
import type { Framing, UpstreamUser } from '../../src/proxy/upstream-connection.js';
import { cutInto, type Field, feedUpstream, fieldArb, nameCase } from '../helpers/upstream-heads.js';

// The response head made from the bytes of the read that carried it (HeadSpans, responseFieldsOf,
// writeResponseFields) against the string path (FieldList, trimValues, downstreamHeaderLines):
// for generated heads, parsed by the real UpstreamConnection, both give the same bytes, the same
// Date presence and the same framing; the bytes path declines only heads it must leave to strings
// (obs-text, which strings send UTF-8 encoded, or a Connection that may name fields).

interface Seen {
  /** What the bytes path made, or 'declined'; undefined when the head was not offered as spans. */
  spans?: { lines: Buffer; hasDate: boolean; framing: Framing; sized: boolean } | 'declined';
  strings?: { lines: Buffer; hasDate: boolean; framing: Framing };
}

/** Parses `pieces` as one response on a fresh UpstreamConnection; the user declines the spans, so the strings follow. */
function parse(pieces: Buffer[], requestId: string, queryToken: boolean, isHead: boolean): Seen {
  const seen: Seen = {};
  const user: UpstreamUser = {
    isHead,
    retryOnce: () => false,
    upstreamStarted() {},
    responseHeadSpans(_status: number, spans: HeadSpans, noBody: boolean) {
      const found = responseFieldsOf(spans, requestId, queryToken);
      if (found === undefined) {
        seen.spans = 'declined';
        return false;
      }
      const out = Buffer.alloc(found.bytes + 64, 0xff);
      const end = writeResponseFields(spans, requestId, queryToken, out, 0);
      seen.spans = { lines: out.subarray(0, end), hasDate: found.hasDate, framing: noBody ? 'none' : found.framing, sized: end === found.bytes };
      return false;
    },
    responseHead(_status, _reason, rawHeaders, framing) {
      const { lines, hasDate } = downstreamHeaderLines(rawHeaders, requestId, queryToken);
      // As the exchange writes it: a string is sent UTF-8 encoded.
      seen.strings = { lines: Buffer.from(lines, 'utf8'), hasDate, framing };
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
      'proxy-connection',
      'proxy-authenticate',
      'proxy-authorization',
      'te',
      'trailer',
      'upgrade',
      'x-request-id',
      'date',
      'cache-control',
      'referrer-policy',
      'content-type',
      'etag',
      'x-custom',
      'set-cookie',
      'vary',
    ),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,18}$/),
    fc.stringMatching(/^[!#$%&'*+.^_`|~A-Za-z0-9-]{1,20}$/),
  )
  .chain(nameCase);

const field = fieldArb(name, ['keep-alive', 'close', 'Keep-Alive', 'CLOSE', 'upgrade', 'x-custom', 'keep-alive, x-custom', 'close, etag', 'te', ''], 8);

const framingFields = fc.constantFrom<Field[]>(
  [],
  [{ name: 'Content-Length', value: '5', before: ' ', after: '' }],
  [{ name: 'content-length', value: '5', before: '', after: ' ' }],
  [{ name: 'Transfer-Encoding', value: 'chunked', before: ' ', after: '' }],
);

/** A response: its status, fields in any order with framing among them, and how it is cut into reads. */
const response = fc
  .record({
    status: fc.constantFrom(200, 201, 204, 304, 404, 500),
    fields: fc.array(field, { maxLength: 12 }),
    framing: framingFields,
    framingAt: fc.nat(),
    cuts: fc.oneof(fc.constant<number[]>([]), fc.array(fc.nat(), { maxLength: 3 })),
    requestId: fc.stringMatching(/^[!#-[\]-~]{1,40}$/),
    queryToken: fc.boolean(),
    isHead: fc.boolean(),
  })
  .map((r) => {
    const fields = [...r.fields];
    fields.splice(r.framingAt % (fields.length + 1), 0, ...r.framing);
    const isChunked = r.framing.some((f) => f.name.toLowerCase() === 'transfer-encoding');
    const hasBody = !r.isHead && r.status !== 204 && r.status !== 304;
    const body = !hasBody ? '' : isChunked ? '5\r\nhello\r\n0\r\n\r\n' : r.framing.length > 0 ? 'hello' : '';
    let head = `HTTP/1.1 ${r.status} Whatever\r\n`;
    for (const f of fields) head += `${f.name}:${f.before}${f.value}${f.after}\r\n`;
    const bytes = Buffer.from(`${head}\r\n${body}`, 'latin1');
    const pieces = cutInto(bytes, r.cuts);
    return { ...r, fields, head: Buffer.from(head, 'latin1'), pieces };
  });

t.test('the bytes path writes what the string path writes, for heads whole in one read', async (t) => {
  let taken = 0;
  fc.assert(
    fc.property(response, (r) => {
      const seen = parse(r.pieces, r.requestId, r.queryToken, r.isHead);
      if (seen.strings === undefined) throw new Error('the head never reached the user');
      const wholeInOneRead = r.pieces[0]!.length >= r.head.length + 2;
      if (!wholeInOneRead) {
        // Across reads the spans may not be offered; when the fields all came in the first read they still may.
        if (seen.spans !== undefined && seen.spans !== 'declined' && !seen.spans.lines.equals(seen.strings.lines)) throw new Error('a split head differs');
        return;
      }
      if (seen.spans === undefined) throw new Error('a head whole in one read was not offered as spans');
      const isAscii = r.fields.every((f) => /^[\x00-\x7f]*$/.test(f.value));
      const connections = r.fields.filter((f) => f.name.toLowerCase() === 'connection');
      const isPlainConnection =
        connections.length === 0 ||
        (connections.length === 1 && ['', 'keep-alive', 'close'].includes(`${connections[0]!.value}${connections[0]!.after}`.trim().toLowerCase()));
      if (seen.spans === 'declined') {
        if (isAscii && isPlainConnection) throw new Error('an ASCII head with a plain Connection was declined');
        return;
      }
      taken++;
      if (!seen.spans.lines.equals(seen.strings.lines)) throw new Error('the bytes differ');
      if (!seen.spans.sized) throw new Error('responseFieldsOf counted other bytes than were written');
      if (seen.spans.hasDate !== seen.strings.hasDate) throw new Error('Date presence differs');
      if (seen.spans.framing !== seen.strings.framing) throw new Error(`framing differs: ${seen.spans.framing} vs ${seen.strings.framing}`);
    }),
    { numRuns: 1500 },
  );
  t.ok(taken > 300, `the bytes path was taken for ${taken} generated heads`);
});

t.test('examples: trimmed values, dropped fields, query-token lines', async (t) => {
  const head = Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Type:application/json  \r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\nX-Request-Id: theirs\r\nETag: "x"\r\n' +
      'Cache-Control: public\r\nContent-Length: 2\r\nEmpty:\r\n\r\nok',
    'latin1',
  );
  const seen = parse([head], 'ours', true, false);
  t.not(seen.spans, 'declined');
  const spans = seen.spans as Exclude<Seen['spans'], 'declined' | undefined>;
  t.equal(
    spans.lines.toString('latin1'),
    'Content-Type: application/json\r\nETag: "x"\r\nContent-Length: 2\r\nEmpty: \r\nx-request-id: ours\r\ncache-control: no-store\r\nreferrer-policy: no-referrer\r\n',
  );
  t.equal(spans.framing, 'length');
  t.equal(spans.hasDate, false);
  const named = parse([Buffer.from('HTTP/1.1 200 OK\r\nConnection: x-secret\r\nX-Secret: 1\r\nContent-Length: 0\r\n\r\n', 'latin1')], 'ours', false, false);
  t.equal(named.spans, 'declined', 'a Connection naming a field is left to strings');
  t.equal(named.strings?.lines.toString('latin1'), 'Content-Length: 0\r\nx-request-id: ours\r\n', 'which drop the field it names');
});
