import t from 'tap';
import { isMethodToken, readQuestion } from '../../src/decision/question.js';

const ask = (rawHeaders: string[], own: { method?: string; url?: string } = {}, prefix = '') =>
  readQuestion({ method: own.method ?? 'GET', url: own.url ?? '/auth', rawHeaders }, prefix);

t.test('Traefik and Caddy: X-Forwarded-Method and X-Forwarded-Uri name the request', async (t) => {
  t.same(ask(['X-Forwarded-Method', 'DELETE', 'X-Forwarded-Uri', '/v1/repositories/sensors/x?a=1']), {
    method: 'DELETE',
    url: '/v1/repositories/sensors/x?a=1',
  });
});

t.test('nginx: X-Original-Method and X-Original-URI name the request', async (t) => {
  t.same(ask(['x-original-method', 'POST', 'x-original-uri', '/v1/repositories/sensors/stream']), { method: 'POST', url: '/v1/repositories/sensors/stream' });
});

t.test('X-Forwarded-* win over X-Original-*, field by field', async (t) => {
  t.same(ask(['X-Original-Method', 'POST', 'X-Forwarded-Method', 'GET', 'X-Original-URI', '/b', 'X-Forwarded-Uri', '/a']), { method: 'GET', url: '/a' });
  t.same(ask(['X-Forwarded-Method', 'PUT', 'X-Original-URI', '/b']), { method: 'PUT', url: '/b' }, 'a source per field');
});

t.test('without forwarded headers the request itself is judged', async (t) => {
  t.same(ask([], { method: 'PATCH', url: '/v1/repositories/sensors/q' }), { method: 'PATCH', url: '/v1/repositories/sensors/q' });
});

t.test('Envoy: the own target less pathPrefix, with the own method', async (t) => {
  t.same(ask([], { method: 'DELETE', url: '/check/v1/repositories/sensors/q?x=1' }, '/check'), { method: 'DELETE', url: '/v1/repositories/sensors/q?x=1' });
});

t.test('under pathPrefix, a client-sent X-Forwarded-Uri passed on by Envoy changes nothing', async (t) => {
  t.same(ask(['X-Forwarded-Uri', '/health', 'X-Forwarded-Method', 'GET'], { method: 'DELETE', url: '/check/v1/repositories/billing/q' }, '/check'), {
    method: 'DELETE',
    url: '/v1/repositories/billing/q',
  });
});

t.test('a target outside pathPrefix with no forwarded header is refused', async (t) => {
  t.equal(ask([], { url: '/v1/repositories/sensors/q' }, '/check'), 'bad_target');
  t.equal(ask([], { url: '/checkv1/repositories/sensors/q' }, '/check'), 'bad_target', 'the prefix ends at a slash');
  t.equal(ask([], { url: '/check' }, '/check'), 'bad_target');
  t.same(ask(['X-Forwarded-Uri', '/a'], { url: '/auth' }, '/check'), { method: 'GET', url: '/a' }, 'outside the prefix, headers still count');
});

t.test('a repeated field is refused, never one of its values picked', async (t) => {
  t.equal(ask(['X-Forwarded-Uri', '/a', 'x-forwarded-uri', '/a']), 'bad_target');
  t.equal(ask(['X-Original-URI', '/a', 'X-Original-URI', '/b']), 'bad_target');
  t.equal(ask(['X-Forwarded-Method', 'GET', 'X-Forwarded-Method', 'GET']), 'bad_method');
  t.equal(ask(['X-Original-Method', 'GET', 'X-Original-Method', 'DELETE']), 'bad_method');
});

t.test('a present but empty field is refused, not skipped for the next source', async (t) => {
  t.equal(ask(['X-Forwarded-Uri', '', 'X-Original-URI', '/a']), 'bad_target');
  t.equal(ask(['X-Forwarded-Uri', '']), 'bad_target');
  t.equal(ask(['X-Forwarded-Method', '', 'X-Original-Method', 'GET']), 'bad_method');
});

t.test('a target with what no request line carries is refused', async (t) => {
  for (const bad of ['/a b', '/a\tb', '/caf\u00e9', '/a?q=\u0100', '/a\u007f']) t.equal(ask(['X-Forwarded-Uri', bad]), 'bad_target', JSON.stringify(bad));
});

t.test('an absolute-form or odd target is passed on to the step, which checks it as the proxy port does', async (t) => {
  t.same(ask(['X-Forwarded-Uri', 'http://evil.example/v1/repositories/billing/q']), { method: 'GET', url: 'http://evil.example/v1/repositories/billing/q' });
  t.same(ask(['X-Forwarded-Uri', '/v1/../admin']), { method: 'GET', url: '/v1/../admin' });
});

t.test('methods: RFC 9110 tokens only, case kept; the WEBSOCKET pseudo-method is not one', async (t) => {
  for (const good of ['GET', 'get', 'PROPFIND', 'constructor', '__proto__', 'M-SEARCH']) t.ok(isMethodToken(good), good);
  for (const bad of ['', 'GE T', 'GET\t', 'GÉT', 'G(ET)', 'WEBSOCKET', 'A'.repeat(33), 'GET,POST']) t.notOk(isMethodToken(bad), JSON.stringify(bad));
  t.equal(ask(['X-Forwarded-Method', 'GET POST']), 'bad_method');
  t.same(ask(['X-Forwarded-Method', 'constructor']), { method: 'constructor', url: '/auth' });
});
