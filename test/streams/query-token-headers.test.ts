import t from 'tap';
import { downstreamHeaderLines } from '../../src/proxy/headers.js';

t.test('a response to a query-token request: no-store and no-referrer replace the upstream values', async (t) => {
  const raw = ['Cache-Control', 'public, max-age=600', 'Referrer-Policy', 'unsafe-url', 'Content-Type', 'text/event-stream'];
  const { lines } = downstreamHeaderLines(raw, 'rid', true);
  t.notMatch(lines, /max-age|unsafe-url/i);
  t.match(lines, /^cache-control: no-store\r$/m);
  t.match(lines, /^referrer-policy: no-referrer\r$/m);
  t.match(lines, /^Content-Type: text\/event-stream\r$/m);
  const plain = downstreamHeaderLines(raw, 'rid').lines;
  t.match(plain, /Cache-Control: public, max-age=600/, 'other responses keep the upstream values');
  t.notMatch(plain, /no-referrer/);
});
