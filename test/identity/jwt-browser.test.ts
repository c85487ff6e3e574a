import t from 'tap';
import { WebSocketServer } from 'ws';
import { launchChromium } from '../helpers/browser.js';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';
import { startOidcIssuer } from '../helpers/oidc-issuer.js';

// A browser holding an OIDC access token: EventSource sends it as access_token, WebSocket in the
// bearer subprotocol, on routes whose tokenIn allows them; chromium is the client.
const PAGE = `<!doctype html><meta charset="utf-8"><title>streams</title><script>
  window.results = { events: [], socket: [] };
  const jwt = new URLSearchParams(location.hash.slice(1)).get('t');
  const source = new EventSource('/v1/repositories/sensors/events?access_token=' + encodeURIComponent(jwt));
  source.onmessage = (e) => { window.results.events.push(e.data); if (window.results.events.length === 2) source.close(); };
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/v1/repositories/sensors/stream', ['tollgate.bearer.' + jwt, 'telemetry.v1']);
  ws.onopen = () => ws.send('from the browser');
  ws.onmessage = (e) => { window.results.socket.push(ws.protocol + ':' + e.data); ws.close(); };
</script>`;

const oidc = await startOidcIssuer('RS256');
t.teardown(() => oidc.close());
const h = await startHarness({
  config: {
    identity: { jwt: [{ issuer: oidc.issuer, audiences: ['tollgate'] }] },
    routes: [
      { path: '/page', public: true },
      { path: '/v1/repositories/:repository/stream', methods: { WEBSOCKET: 'stream' }, tokenIn: ['header', 'protocol'] },
      { path: '/v1/repositories/:repository/events', tokenIn: ['header', 'query'] },
    ],
  },
  upstream: (req, res) => {
    if (req.url === '/page') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end(PAGE);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: one\n\n');
    res.write('data: two\n\n');
  },
});
t.teardown(() => h.close());
const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => [...protocols][0] ?? false });
h.upstream.server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(`echo ${data}`))));
const made = await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'carol', grants: { sensors: ['query', 'stream'] } });
if (made.status !== 201) throw new Error(`setup: ${made.status}`);

const browser = await launchChromium();
t.teardown(() => browser.close());

t.test('EventSource with access_token and WebSocket with the bearer subprotocol carry a JWT, in chromium', async (t) => {
  const jwt = await oidc.sign({ aud: 'tollgate', sub: 'carol' });
  const page = await browser.newPage();
  await page.goto(`${h.proxy}/page#t=${jwt}`);
  await page.waitForFunction(() => {
    const r = (window as unknown as { results: { events: string[]; socket: string[] } }).results;
    return r.events.length === 2 && r.socket.length === 1;
  });
  const results = await page.evaluate(() => (window as unknown as { results: unknown }).results);
  t.same(results, { events: ['one', 'two'], socket: ['telemetry.v1:echo from the browser'] });
  const events = h.upstream.received.find((r) => r.url.startsWith('/v1/repositories/sensors/events'))!;
  t.equal(events.url, '/v1/repositories/sensors/events', 'the upstream never saw the JWT');
  t.equal(events.headers['x-tollgate-user'], 'carol');
  // The upstream picks the first subprotocol offered: telemetry.v1 shows the token's was taken out.
  await page.close();
});
