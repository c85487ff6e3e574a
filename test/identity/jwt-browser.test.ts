import t from 'tap';
import { call } from '../helpers/admin-client.js';
import { launchChromium } from '../helpers/browser.js';
import { BROWSER_STREAM_ROUTES, browserStreamUpstream, echoWebSockets, runStreamsPage } from '../helpers/browser-streams.js';
import { startHarness } from '../helpers/harness.js';
import { startOidcIssuer } from '../helpers/oidc-issuer.js';

// A browser holding an OIDC access token: EventSource sends it as access_token, WebSocket in the
// bearer subprotocol, on routes whose tokenIn allows them; chromium is the client.
const oidc = await startOidcIssuer('RS256');
t.teardown(() => oidc.close());
const h = await startHarness({
  config: { identity: { jwt: [{ issuer: oidc.issuer, audiences: ['tollgate'] }] }, routes: BROWSER_STREAM_ROUTES },
  upstream: browserStreamUpstream(),
});
t.teardown(() => h.close());
echoWebSockets(h);
const made = await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'carol', grants: { sensors: ['query', 'stream'] } });
if (made.status !== 201) throw new Error(`setup: ${made.status}`);

const browser = await launchChromium();
t.teardown(() => browser.close());

t.test('EventSource with access_token and WebSocket with the bearer subprotocol carry a JWT, in chromium', async (t) => {
  const jwt = await oidc.sign({ aud: 'tollgate', sub: 'carol' });
  const results = await runStreamsPage(browser, h, jwt);
  t.same(results, { events: ['one', 'two'], socket: ['telemetry.v1:echo from the browser'] });
  const events = h.upstream.received.find((r) => r.url.startsWith('/v1/repositories/sensors/events'))!;
  t.equal(events.url, '/v1/repositories/sensors/events', 'the upstream never saw the JWT');
  t.equal(events.headers['x-tollgate-user'], 'carol');
  // The upstream picks the first subprotocol offered: telemetry.v1 shows the token's was taken out.
});
