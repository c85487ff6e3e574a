import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileStore } from '../../src/store/file-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { TokenStore } from '../../src/store/token-store.js';
import { defaultOrganization, organizationOf } from '../../src/tokens/record.js';
import { startRedis } from '../helpers/redis-server.js';

// A store written before organizations (today's journal lines and Redis hashes, as the code
// before this change wrote them) reads as before: every repository in `default`, `default`
// listed, and organizations can be added beside them (docs/organizations.md).

const REPOSITORY = { name: 'sensors', createdAt: 1_700_000_000_000, createdBy: 'token:0123456789abcdef' };
const TEAM = { name: 'ops', members: ['alice'], grants: { sensors: ['query'] }, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 };

async function readsAsBefore(t: Test, store: TokenStore): Promise<void> {
  t.same(await store.getRepository('sensors'), REPOSITORY, 'the repository as written');
  t.equal(organizationOf((await store.getRepository('sensors'))!), 'default');
  t.same(await store.listOrganizations(), [defaultOrganization()]);
  t.equal(organizationOf((await store.getTeam('ops'))!), 'default', 'a team written before is in default');
  t.equal(await store.deleteOrganization('default'), 'not-empty');
  t.equal(await store.createOrganization({ name: 'acme', displayName: 'Acme', createdAt: 2, createdBy: 'x', updatedAt: 2 }), true);
  t.equal(await store.createRepository({ name: 'acme-sensors', createdAt: 2, createdBy: 'x', organization: 'acme' }), true);
  t.same((await store.listRepositories()).map((repo) => [repo.name, organizationOf(repo)]).sort(), [
    ['acme-sensors', 'acme'],
    ['sensors', 'default'],
  ]);
}

t.test('a journal written before organizations', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  writeFileSync(
    path,
    `${[JSON.stringify({ op: 'repository', record: REPOSITORY }), JSON.stringify({ op: 'team', record: TEAM, entry: { at: 1, actor: 'x', action: 'created', changes: {} } })].join('\n')}\n`,
  );
  const store = await FileStore.open(path);
  await readsAsBefore(t, store);
  await store.close();
  const again = await FileStore.open(path);
  t.equal((await again.getOrganization('acme'))?.displayName, 'Acme', 'kept across a restart');
  t.equal(organizationOf((await again.getRepository('acme-sensors'))!), 'acme');
  await again.close();
});

t.test('Redis data written before organizations', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(redis.port), ...args]);
  cli('HSET', 'old:repositories', 'sensors', JSON.stringify(REPOSITORY));
  cli('HSET', 'old:teams', 'ops', JSON.stringify(TEAM));
  const store = new RedisStore({ url: redis.url, keyPrefix: 'old:', commandTimeoutMs: 1000 });
  await store.waitUntilReady(5000);
  t.teardown(() => store.close());
  await readsAsBefore(t, store);
});
