import t from 'tap';
import { launchChromium } from '../helpers/browser.js';
import { BROWSER_STREAM_ROUTES, browserStreamUpstream, echoWebSockets, runStreamsPage } from '../helpers/browser-streams.js';
import { startHarness } from '../helpers/harness.js';

// What a browser can send: EventSource sets no header, WebSocket sets none but its subprotocols.
// A page served through Tollgate (a public route) opens both against token-protected routes.
const h = await startHarness({
  config: { routes: BROWSER_STREAM_ROUTES },
  upstream: browserStreamUpstream({ 'cache-control': 'max-age=600' }),
});
t.teardown(() => h.close());
echoWebSockets(h);

const browser = await launchChromium();
t.teardown(() => browser.close());

t.test('EventSource with access_token and WebSocket with the bearer subprotocol, in chromium', async (t) => {
  const token = await h.token(['query', 'stream']);
  const results = await runStreamsPage(browser, h, token.secret);
  t.same(results, { events: ['one', 'two'], socket: ['telemetry.v1:echo from the browser'] });
  const events = h.upstream.received.find((r) => r.url.startsWith('/v1/repositories/sensors/events'))!;
  t.equal(events.url, '/v1/repositories/sensors/events', 'the upstream never saw the token');
  t.equal(events.headers['x-tollgate-token-id'], token.token.id);
});
