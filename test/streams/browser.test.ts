import t from 'tap';
import { WebSocketServer } from 'ws';
import { launchChromium } from '../helpers/browser.js';
import { startHarness } from '../helpers/harness.js';

// What a browser can send: EventSource sets no header, WebSocket sets none but its subprotocols.
// A page served through Tollgate (a public route) opens both against token-protected routes.
const PAGE = `<!doctype html><meta charset="utf-8"><title>streams</title><script>
  window.results = { events: [], socket: [] };
  const secret = new URLSearchParams(location.hash.slice(1)).get('t');
  const source = new EventSource('/v1/repositories/sensors/events?access_token=' + encodeURIComponent(secret));
  source.onmessage = (e) => { window.results.events.push(e.data); if (window.results.events.length === 2) source.close(); };
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/v1/repositories/sensors/stream', ['tollgate.bearer.' + secret, 'telemetry.v1']);
  ws.onopen = () => ws.send('from the browser');
  ws.onmessage = (e) => { window.results.socket.push(ws.protocol + ':' + e.data); ws.close(); };
</script>`;

const h = await startHarness({
  config: {
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
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'max-age=600' });
    res.write('data: one\n\n');
    res.write('data: two\n\n');
  },
});
t.teardown(() => h.close());
const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => [...protocols][0] ?? false });
h.upstream.server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(`echo ${data}`))));

const browser = await launchChromium();
t.teardown(() => browser.close());

t.test('EventSource with access_token and WebSocket with the bearer subprotocol, in chromium', async (t) => {
  const token = await h.token(['query', 'stream']);
  const page = await browser.newPage();
  await page.goto(`${h.proxy}/page#t=${token.secret}`);
  await page.waitForFunction(() => {
    const r = (window as unknown as { results: { events: string[]; socket: string[] } }).results;
    return r.events.length === 2 && r.socket.length === 1;
  });
  const results = await page.evaluate(() => (window as unknown as { results: unknown }).results);
  t.same(results, { events: ['one', 'two'], socket: ['telemetry.v1:echo from the browser'] });
  const events = h.upstream.received.find((r) => r.url.startsWith('/v1/repositories/sensors/events'))!;
  t.equal(events.url, '/v1/repositories/sensors/events', 'the upstream never saw the token');
  t.equal(events.headers['x-tollgate-token-id'], token.token.id);
  await page.close();
});
