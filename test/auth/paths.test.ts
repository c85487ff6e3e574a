import t from 'tap';
import { checkTarget } from '../../src/auth/paths.js';

t.test('ordinary paths pass unchanged, query included', async (t) => {
  for (const path of ['/', '/v1/repositories/sensors/query', '/a/b?x=1&y=%2F', '/a/%20b', '/a/.hidden', '/a/...', '/a/b.c']) {
    t.equal(checkTarget(path), path, path);
  }
});

t.test('dot segments are refused, plain or encoded', async (t) => {
  for (const path of ['/a/../b', '/a/./b', '/..', '/a/..', '/a/%2e%2e/b', '/a/%2E./b', '/a/.%2e', '/a/%2e/b']) {
    t.equal(checkTarget(path), undefined, path);
  }
});

t.test('encoded slashes, backslashes, NUL and double encoding are refused', async (t) => {
  for (const path of ['/a%2fb', '/a%2Fb', '/a%5cb', '/a\\b', '/a%00b', '/a\0b', '/a/%252e%252e/b', '/a/%zz', '/a/%2']) {
    t.equal(checkTarget(path), undefined, JSON.stringify(path));
  }
});

t.test('absolute-form targets are reduced to their path', async (t) => {
  t.equal(checkTarget('http://example.com/v1/x?y=1'), '/v1/x?y=1');
  t.equal(checkTarget('HTTPS://example.com'), '/');
  t.equal(checkTarget('http://example.com/a/../b'), undefined);
});

t.test('other target forms are refused', async (t) => {
  for (const target of ['*', 'example.com:443', 'ftp://x/y', '', '//evil.example/x', 'v1/x']) {
    t.equal(checkTarget(target), undefined, target);
  }
});
