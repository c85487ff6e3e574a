import fc from 'fast-check';
import t from 'tap';
import { request } from 'undici';
import { startHarness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';

// For any method and target strings in the forwarded headers, the decision port answers 200 only
// when the proxy port, sent the same method and target with the same token, forwards the request,
// and then with the same right. Both ports go through one decision step; this pins that the
// decision port's reading of headers adds no way in that the proxy port's request line lacks.

const h = await startHarness({ config: { decision: { listen: '127.0.0.1:0' } } });
t.teardown(() => h.close());
const sensors = await h.token(['query', 'stream']);
const everywhere = await h.token(['query', 'delete'], '*');
const TOKENS = [sensors.secret, everywhere.secret, undefined, `tgr_${'A'.repeat(49)}`];

const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'PROPFIND',
  'CONNECT',
  'WEBSOCKET',
  'get',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
];
const PIECES = [
  '/',
  '/v1',
  '/repositories',
  '/sensors',
  '/billing',
  '/query',
  '/stream',
  '/health',
  '/..',
  '/.',
  '/%2e%2e',
  '/%2f',
  '%2F',
  '%5c',
  '%00',
  '%25',
  '\\',
  ';',
  '..;',
  '?',
  '&',
  '=',
  '_method',
  'access_token',
  '#',
  'http://h',
  'HTTP://x',
  '//',
  ' ',
  '%20',
  '\u00e9',
  '%C3%A9',
  '%C0%AE',
  '%EF%BC%8E',
  '*',
  'a',
  '~',
];

/** What a header value can carry at all: no CR, LF or NUL, and no edge whitespace (trimmed on read). */
const headerSafe = (text: string) => !/[\r\n\0]/.test(text) && text === text.trim();

// Weighted towards requests a token can pass, so allowed answers are common enough to compare.
const method = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'HEAD', 'POST'), weight: 3 },
  fc.constantFrom(...METHODS),
  fc.string({ maxLength: 10 }).filter(headerSafe),
);
const target = fc
  .oneof(
    fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
    {
      arbitrary: fc
        .tuple(
          fc.constantFrom('/v1/repositories/sensors/', '/v1/repositories/billing/', '/health', 'http://h/v1/repositories/sensors/'),
          fc.array(fc.constantFrom(...PIECES), { maxLength: 3 }),
        )
        .map(([head, rest]) => head + rest.join('')),
      weight: 3,
    },
    fc.constantFrom('/v1/repositories/sensors/query', '/v1/repositories/billing/query', '/v1/repositories/sensors/stream', '/health'),
    fc.string({ maxLength: 30 }),
  )
  .filter((text) => headerSafe(text) && text.length > 0);
const token = fc.constantFrom(...TOKENS);

/** The proxy port's verdict: forwarded (with the right the upstream saw) or refused. */
async function viaProxy(m: string, u: string, secret: string | undefined): Promise<string | undefined> {
  const before = h.upstream.received.length;
  const auth = secret ? `Authorization: Bearer ${secret}\r\n` : '';
  const res = await rawRequest(h.tollgate.proxyPort, Buffer.from(`${m} ${u} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, 'latin1'));
  if (h.upstream.received.length === before) return undefined;
  if (res.status === 0) throw new Error('no answer from the proxy port');
  return String(h.upstream.received[h.upstream.received.length - 1]!.headers['x-tollgate-right'] ?? 'public');
}

/** The decision port's verdict: 200 (with its right) or a refusal. */
async function viaDecision(m: string, u: string, secret: string | undefined): Promise<{ status: number; right: string | undefined }> {
  const auth = secret ? `Authorization: Bearer ${secret}\r\n` : '';
  const res = await rawRequest(
    h.tollgate.decisionPort!,
    Buffer.from(`GET /auth HTTP/1.1\r\nHost: x\r\nX-Forwarded-Method: ${m}\r\nX-Forwarded-Uri: ${u}\r\n${auth}Connection: close\r\n\r\n`, 'latin1'),
  );
  if (res.status === 0) throw new Error(`no answer from the decision port: ${JSON.stringify(res.text)}`);
  const right = /\r\nx-tollgate-right: (\w+)\r\n/.exec(res.text)?.[1];
  return { status: res.status, right: res.status === 200 ? (right ?? 'public') : undefined };
}

t.test('the decision port allows only what the proxy port would forward, with the same right', async (t) => {
  let allowed = 0;
  await fc.assert(
    fc.asyncProperty(method, target, token, async (m, u, secret) => {
      const decision = await viaDecision(m, u, secret);
      if (decision.status !== 200) return true;
      allowed++;
      const forwarded = await viaProxy(m, u, secret);
      return forwarded === decision.right;
    }),
    { numRuns: Number(process.env.TG_PROPERTY_RUNS ?? 300), ...(process.env.TG_PROPERTY_SEED ? { seed: Number(process.env.TG_PROPERTY_SEED) } : {}) },
  );
  t.ok(allowed > 0, `the generator reaches allowed answers too (${allowed})`);
});

t.test('and the port is still answering afterwards', async (t) => {
  t.equal((await request(`${h.admin}/healthz`)).statusCode, 200);
  const res = await viaDecision('GET', '/v1/repositories/sensors/query', sensors.secret);
  t.equal(res.status, 200);
});
