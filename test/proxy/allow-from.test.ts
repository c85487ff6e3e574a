import { type ClientHttp2Session, connect as connectHttp2 } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { persistentBackends } from '../helpers/backends.js';
import { bearer, type Harness, startHarness } from '../helpers/harness.js';

// A token's allowFrom (docs/tokens.md, "Address bounds"): a request from any other client address
// is refused with 403 /problems/address-not-allowed on every port and protocol. Real sockets on
// the loopback net: clients bound to 127.0.0.2, 127.0.0.3 … and ::1. proxy.trustedProxies names
// the peers whose first X-Forwarded-For hop counts instead (RFC 7239 §5.2 for the chain).

const Q = '/v1/repositories/sensors/query';
const TRUSTED = '127.0.0.9';
const backends = await persistentBackends(t);

/** An undici agent whose sockets start from `localAddress`. */
const agents = new Map<string, Agent>();
function from(localAddress: string): Agent {
  let agent = agents.get(localAddress);
  if (!agent) {
    // A connector of our own: the socket is bound before it connects, whatever undici passes on.
    agent = new Agent({
      connect: (options, done) => {
        const host = options.hostname.replace(/^\[|\]$/g, '');
        const socket = connectTcp({ host, port: Number(options.port), localAddress });
        socket.once('connect', () => done(null, socket));
        socket.once('error', (err) => done(err, null));
        return socket;
      },
    });
    agents.set(localAddress, agent);
  }
  return agent;
}
t.teardown(async () => {
  for (const agent of agents.values()) await agent.close();
});

async function get(origin: string, localAddress: string, secret: string, headers: Record<string, string> = {}) {
  const res = await request(`${origin}${Q}`, { headers: { ...bearer(secret), ...headers }, dispatcher: from(localAddress) });
  const text = await res.body.text();
  return { status: res.statusCode, type: res.statusCode === 403 ? (JSON.parse(text) as { type: string }).type : undefined };
}

/** One HTTP/2 request by prior knowledge over a socket bound to `localAddress`. */
async function getH2(port: number, localAddress: string, secret: string): Promise<number> {
  const session: ClientHttp2Session = connectHttp2(`http://127.0.0.1:${port}`, {
    createConnection: () => connectTcp({ host: '127.0.0.1', port, localAddress }),
  });
  try {
    return await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': Q, ...bearer(secret) });
      stream.on('response', (headers) => resolve(Number(headers[':status'])));
      stream.on('error', reject);
      stream.resume();
      stream.end();
    });
  } finally {
    session.close();
  }
}

/** A WebSocket handshake over a socket bound to `localAddress`: the status of the answer. */
async function upgrade(port: number, localAddress: string, secret: string): Promise<number> {
  const socket: Socket = connectTcp({ host: '127.0.0.1', port, localAddress });
  try {
    socket.write(
      `GET ${Q} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${secret}\r\n\r\n`,
    );
    const head = await new Promise<string>((resolve, reject) => {
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (seen.includes('\r\n')) resolve(seen);
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(seen));
    });
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  } finally {
    socket.destroy();
  }
}

async function bounded(h: Harness, name: string, allowFrom: string[]) {
  const res = await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'repository', name, repository: 'sensors', rights: ['query'], allowFrom });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { token: { id: string; allowFrom: string[] }; secret: string };
}

for (const [backend, open] of Object.entries(backends)) {
  t.test(`allowFrom on the ${backend} store`, async (t: Test) => {
    const h = await startHarness({
      store: await open(),
      config: { decision: { listen: '127.0.0.1:0' }, proxy: { trustedProxies: [`${TRUSTED}/32`] } },
    });
    t.teardown(() => h.close());
    const port = h.tollgate.proxyPort;
    const decision = `http://127.0.0.1:${h.tollgate.decisionPort}`;
    const two = await bounded(h, 'from two', ['127.0.0.2/32']);
    const open4 = await h.token(['query']);

    t.test('HTTP/1.1: the listed address passes, any other gets 403 address-not-allowed', async (t) => {
      t.same(await get(h.proxy, '127.0.0.2', two.secret), { status: 200, type: undefined });
      t.same(await get(h.proxy, '127.0.0.3', two.secret), { status: 403, type: '/problems/address-not-allowed' });
      t.equal((await get(h.proxy, '127.0.0.3', open4.secret)).status, 200, 'a token without allowFrom: any address');
    });

    t.test('HTTP/2 and WebSocket are judged on the same address', async (t) => {
      t.equal(await getH2(port, '127.0.0.2', two.secret), 200);
      t.equal(await getH2(port, '127.0.0.3', two.secret), 403);
      t.equal(await upgrade(port, '127.0.0.3', two.secret), 403);
      t.not(await upgrade(port, '127.0.0.2', two.secret), 403, 'the listed address is handed on to the upstream');
    });

    t.test('X-Forwarded-For counts only from a trusted proxy', async (t) => {
      const forged = { 'x-forwarded-for': '127.0.0.2' };
      t.equal((await get(h.proxy, '127.0.0.3', two.secret, forged)).status, 403, 'an untrusted peer cannot name another address');
      t.equal((await get(h.proxy, TRUSTED, two.secret, forged)).status, 200, 'a trusted proxy names the client by its first hop');
      t.equal((await get(h.proxy, TRUSTED, two.secret, { 'x-forwarded-for': '127.0.0.3, 127.0.0.2' })).status, 403, 'the first hop, not the last');
      t.equal((await get(h.proxy, TRUSTED, two.secret)).status, 403, 'a trusted proxy with no header is itself the client');
    });

    t.test("the decision port reads its asker's X-Forwarded-For only when the asker is trusted", async (t) => {
      const ask = { 'x-forwarded-method': 'GET', 'x-forwarded-uri': Q, 'x-forwarded-for': '127.0.0.2' };
      const trusted = await request(`${decision}/auth`, { headers: { ...bearer(two.secret), ...ask }, dispatcher: from(TRUSTED) });
      await trusted.body.dump();
      t.equal(trusted.statusCode, 200);
      const untrusted = await request(`${decision}/auth`, { headers: { ...bearer(two.secret), ...ask }, dispatcher: from('127.0.0.4') });
      t.equal(untrusted.statusCode, 403);
      t.equal((JSON.parse(await untrusted.body.text()) as { type: string }).type, '/problems/address-not-allowed');
    });

    t.test('an edit of allowFrom applies at once (the cached token is evicted)', async (t) => {
      const edited = await bounded(h, 'edited', ['127.0.0.2/32']);
      t.equal((await get(h.proxy, '127.0.0.5', edited.secret)).status, 403);
      const res = await call(h, 'PATCH', `/v1/tokens/${edited.token.id}`, h.adminSecret, { allowFrom: ['127.0.0.0/29'] });
      t.same(res.body.allowFrom, ['127.0.0.0/29']);
      t.equal((await get(h.proxy, '127.0.0.5', edited.secret)).status, 200);
      await call(h, 'PATCH', `/v1/tokens/${edited.token.id}`, h.adminSecret, { allowFrom: ['10.0.0.0/8'] });
      t.equal((await get(h.proxy, '127.0.0.5', edited.secret)).status, 403, 'narrowed at once too');
    });

    t.test('CIDRs are checked at create and edit', async (t) => {
      for (const bad of ['127.0.0.1/33', '10.0.0.0/x', 'localhost', '::1/129', '']) {
        const res = await call(h, 'POST', '/v1/tokens', h.adminSecret, {
          kind: 'repository',
          name: `bad ${bad}`,
          repository: 'sensors',
          rights: ['query'],
          allowFrom: [bad],
        });
        t.equal(res.status, 400, bad);
        t.match(res.body.detail, /allowFrom\.0: expected a CIDR/);
      }
      const ok = await bounded(h, 'both families', ['10.0.0.0/8', '2001:db8::/32', '::1', '192.0.2.7']);
      t.same(ok.token.allowFrom, ['10.0.0.0/8', '2001:db8::/32', '::1', '192.0.2.7']);
    });
  });
}

t.test('IPv6: ::1 passes a ::1/128 bound and not an IPv4 one', async (t) => {
  const h = await startHarness({ config: { proxy: { listen: '[::1]:0' } } });
  t.teardown(() => h.close());
  const origin = `http://[::1]:${h.tollgate.proxyPort}`;
  const six = await bounded(h, 'six', ['::1/128']);
  const four = await bounded(h, 'four', ['127.0.0.0/8']);
  t.equal((await get(origin, '::1', six.secret)).status, 200);
  t.same(await get(origin, '::1', four.secret), { status: 403, type: '/problems/address-not-allowed' });
});
