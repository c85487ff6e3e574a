import t from 'tap';
import * as undici from 'undici';
import { Pool } from '../../src/proxy/upstream-pool.js';

t.test('the directly imported Pool is the class undici exports', async (t) => {
  t.equal(Pool, undici.Pool);
});
