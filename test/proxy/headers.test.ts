import t from 'tap';
import { type UpstreamHeaderOptions, upstreamHeaders } from '../../src/proxy/headers.js';

// upstreamHeaders() as a table: raw request headers in -> what the upstream gets (docs/data-plane.md).
const base: UpstreamHeaderOptions = {
  forwardAuthorization: false,
  requestId: 'rid-1',
  remoteAddress: '192.0.2.9',
  protocol: 'http',
  identity: { tokenId: 'abc', repository: 'sensors', user: null, right: 'query' },
};

/** The header list as a map of lower-case name -> values, in order. */
function sent(raw: string[], connection?: string, options: Partial<UpstreamHeaderOptions> = {}): Map<string, string[]> {
  const out = upstreamHeaders(raw, connection, { ...base, ...options });
  const map = new Map<string, string[]>();
  for (let i = 0; i < out.length; i += 2) map.set(out[i]!.toLowerCase(), [...(map.get(out[i]!.toLowerCase()) ?? []), out[i + 1]!]);
  return map;
}

const CASES: Array<
  [what: string, raw: string[], connection: string | undefined, options: Partial<UpstreamHeaderOptions>, check: (h: Map<string, string[]>) => boolean]
> = [
  ['an ordinary header passes as sent', ['Accept', 'text/csv'], undefined, {}, (h) => h.get('accept')?.[0] === 'text/csv'],
  [
    'hop-by-hop headers are dropped',
    ['Keep-Alive', '5', 'TE', 'trailers', 'Upgrade', 'h2c', 'Proxy-Authorization', 'x'],
    undefined,
    {},
    (h) => !h.has('keep-alive') && !h.has('te') && !h.has('upgrade') && !h.has('proxy-authorization'),
  ],
  ['a field named in Connection is dropped', ['X-Debug', '1'], 'close, x-debug', {}, (h) => !h.has('x-debug')],
  [
    'Connection cannot remove Host',
    ['Host', 'api.example'],
    'host',
    {},
    (h) => h.get('host')?.[0] === 'api.example' && h.get('x-forwarded-host')?.[0] === 'api.example',
  ],
  ['Authorization is dropped by default', ['Authorization', 'Bearer x'], undefined, {}, (h) => !h.has('authorization')],
  [
    'Authorization is kept with forwardAuthorization',
    ['Authorization', 'Bearer x'],
    undefined,
    { forwardAuthorization: true },
    (h) => h.get('authorization')?.[0] === 'Bearer x',
  ],
  [
    'incoming x-tollgate-* are replaced by ours',
    ['X-Tollgate-Repository', 'billing', 'x_tollgate_user', 'root'],
    undefined,
    {},
    (h) => h.get('x-tollgate-repository')?.join() === 'sensors' && !h.has('x_tollgate_user') && !h.has('x-tollgate-user'),
  ],
  ['identity headers are added', [], undefined, {}, (h) => h.get('x-tollgate-token-id')?.[0] === 'abc' && h.get('x-tollgate-right')?.[0] === 'query'],
  ['X-Forwarded-For gets the client appended', ['X-Forwarded-For', '10.0.0.1'], undefined, {}, (h) => h.get('x-forwarded-for')?.[0] === '10.0.0.1, 192.0.2.9'],
  ['X-Forwarded-Proto is kept, else set from this hop', [], undefined, { protocol: 'https' }, (h) => h.get('x-forwarded-proto')?.[0] === 'https'],
  ['the request id is ours', ['X-Request-Id', 'client-id'], undefined, {}, (h) => h.get('x-request-id')?.join() === 'rid-1'],
  [
    'method and URL overrides are dropped',
    ['X-HTTP-Method-Override', 'DELETE', 'X-Original-URL', '/admin', 'x_http_method_override', 'DELETE'],
    undefined,
    {},
    (h) => !h.has('x-http-method-override') && !h.has('x-original-url') && !h.has('x_http_method_override'),
  ],
  ['Expect is dropped (Tollgate answered it)', ['Expect', '100-continue'], undefined, {}, (h) => !h.has('expect')],
  [
    'an incoming Forwarded gets this hop appended',
    ['Forwarded', 'for=10.0.0.1'],
    undefined,
    {},
    (h) => /^for=10\.0\.0\.1, for=192\.0\.2\.9;proto=http/.test(h.get('forwarded')?.[0] ?? ''),
  ],
  ['no Forwarded is invented', [], undefined, {}, (h) => !h.has('forwarded')],
];

for (const [what, raw, connection, options, check] of CASES) {
  t.test(what, async (t) => {
    const headers = sent(raw, connection, options);
    const holds = check(headers);
    t.ok(holds, what);
    if (!holds) t.comment(JSON.stringify([...headers]));
  });
}
