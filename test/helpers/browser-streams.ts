import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import type { Harness } from './harness.js';
import type { UpstreamHandler } from './upstream.js';

// What a browser can send: EventSource sets no header, WebSocket sets none but its subprotocols.
// A page served through Tollgate (a public route) opens both against credential-protected routes,
// with the credential from the page's fragment (never sent to a server).
const PAGE = `<!doctype html><meta charset="utf-8"><title>streams</title><script>
  window.results = { events: [], socket: [] };
  const credential = new URLSearchParams(location.hash.slice(1)).get('t');
  const source = new EventSource('/v1/repositories/sensors/events?access_token=' + encodeURIComponent(credential));
  source.onmessage = (e) => { window.results.events.push(e.data); if (window.results.events.length === 2) source.close(); };
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/v1/repositories/sensors/stream', ['tollgate.bearer.' + credential, 'telemetry.v1']);
  ws.onopen = () => ws.send('from the browser');
  ws.onmessage = (e) => { window.results.socket.push(ws.protocol + ':' + e.data); ws.close(); };
</script>`;

/** The routes the page needs: itself public, the stream route taking the subprotocol, the events route the query parameter. */
export const BROWSER_STREAM_ROUTES = [
  { path: '/page', public: true },
  { path: '/v1/repositories/:repository/stream', methods: { WEBSOCKET: 'stream' }, tokenIn: ['header', 'protocol'] },
  { path: '/v1/repositories/:repository/events', tokenIn: ['header', 'query'] },
];

/** The upstream: the page at /page, two events on anything else (with `eventHeaders` on them). */
export function browserStreamUpstream(eventHeaders: Record<string, string> = {}): UpstreamHandler {
  return (req, res) => {
    if (req.url === '/page') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end(PAGE);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', ...eventHeaders });
    res.write('data: one\n\n');
    res.write('data: two\n\n');
  };
}

/** Echoes WebSocket messages on the harness's upstream, choosing the first subprotocol offered. */
export function echoWebSockets(h: Harness): void {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => [...protocols][0] ?? false });
  h.upstream.server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(`echo ${data}`))));
}

/** Opens the page through the proxy with `credential`, waits for both streams, and returns what the page saw. */
export async function runStreamsPage(browser: Browser, h: Harness, credential: string): Promise<unknown> {
  const page = await browser.newPage();
  try {
    await page.goto(`${h.proxy}/page#t=${credential}`);
    await page.waitForFunction(() => {
      const r = (window as unknown as { results: { events: string[]; socket: string[] } }).results;
      return r.events.length === 2 && r.socket.length === 1;
    });
    return await page.evaluate(() => (window as unknown as { results: unknown }).results);
  } finally {
    await page.close();
  }
}
