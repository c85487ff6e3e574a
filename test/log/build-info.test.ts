import t from 'tap';
import { readBuildInfo } from '../../src/log/build-info.js';

t.test('build info is package.json version and the running Node; unknown when unreadable', async (t) => {
  t.match(readBuildInfo(), { version: /^\d+\.\d+\.\d+/, node: process.version });
  t.same(readBuildInfo(new URL('file:///nonexistent/package.json')), { version: 'unknown', node: process.version });
});
