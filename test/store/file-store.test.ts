import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FileStore, FileStoreError } from '../../src/store/file-store.js';
import { entry, makeToken } from '../helpers/records.js';

t.test('state survives a restart', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  const store = await FileStore.open(path);
  const { record } = makeToken();
  await store.createToken(record, entry('created', 1));
  await store.updateToken({ ...record, name: 'renamed' }, entry('edited', 2), record.version);
  await store.createRepository({ name: 'sensors', createdAt: 1, createdBy: 't' });
  await store.putUser({ name: 'alice', grants: { sensors: ['query'] }, createdAt: 1, updatedAt: 1 });
  await store.close();
  const again = await FileStore.open(path);
  t.teardown(() => again.close());
  t.equal((await again.getToken(record.id))?.name, 'renamed');
  t.same(
    (await again.history(record.id)).map((e) => e.action),
    ['created', 'edited'],
  );
  t.ok(await again.getRepository('sensors'));
  t.same((await again.getUser('alice'))?.grants, { sensors: ['query'] });
});

t.test('compaction at start keeps the state and drops superseded lines', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  const store = await FileStore.open(path);
  const { record } = makeToken();
  await store.createToken(record, entry('created'));
  for (let i = 1; i <= 200; i++) await store.touchLastUsed(new Map([[record.id, { at: i, ip: null, userAgent: null }]]));
  await store.close();
  const before = statSync(path).size;
  const again = await FileStore.open(path);
  t.teardown(() => again.close());
  t.ok(statSync(path).size < before / 10, 'the journal shrank');
  t.equal((await again.getToken(record.id))?.lastUsedAt, 200);
  t.equal(readFileSync(path, 'utf8').trim().split('\n').length, 2, 'one history line and one token line');
});

t.test('a torn last line from a crash is dropped and the rest is kept', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  const store = await FileStore.open(path);
  const { record } = makeToken();
  await store.createToken(record, entry('created'));
  await store.close();
  appendFileSync(path, '{"op":"token","record":{"id":"tor');
  const again = await FileStore.open(path);
  t.teardown(() => again.close());
  t.equal(again.droppedTornLine, true);
  t.ok(await again.getToken(record.id));
});

t.test('damage before the last line is refused, naming the line', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  writeFileSync(path, '{"op":"deleteUser","name":"a"}\nnot json\n{"op":"deleteUser","name":"b"}\n');
  await t.rejects(FileStore.open(path), { name: 'FileStoreError', message: /line 2 is not a journal entry/ });
});

t.test('a second open of the same file is refused while the first holds it', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  const first = await FileStore.open(path);
  await t.rejects(
    FileStore.open(path),
    new FileStoreError(
      `${path} is in use by process ${process.pid}; the file store serves one process only (use store.backend: redis to run several replicas)`,
    ),
  );
  await first.close();
  const second = await FileStore.open(path);
  await second.close();
});

t.test('a lock left by a dead process is taken over', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  writeFileSync(`${path}.lock`, '2147483646');
  const store = await FileStore.open(path);
  t.equal(readFileSync(`${path}.lock`, 'utf8'), String(process.pid));
  await store.close();
});

t.test('a journal written before versions, parents, last-use addresses, lent tokens and teams still opens, and teams survive compaction', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  const { record } = makeToken();
  const old: Record<string, unknown> = { ...record };
  for (const key of ['version', 'parentId', 'lastUsedIp', 'lastUsedUserAgent']) delete old[key];
  writeFileSync(
    path,
    [JSON.stringify({ op: 'token', record: old, entry: entry('created') }), JSON.stringify({ op: 'lastUsed', uses: [[record.id, 42]] }), ''].join('\n'),
  );
  const store = await FileStore.open(path);
  const read = (await store.getToken(record.id))!;
  t.same([read.version, read.parentId, read.lastUsedAt, read.lastUsedIp], [0, null, 42, null]);
  t.same([read.lent, read.budgetId], [undefined, undefined], 'independent, with its own budget');
  t.equal(await store.updateToken({ ...read, name: 'now versioned' }, entry('edited'), 0), 'written');
  await store.putTeam({ name: 'ops', members: ['alice'], grants: { sensors: ['query'] }, createdAt: 1, updatedAt: 1 }, entry('created'));
  await store.close();
  const again = await FileStore.open(path);
  t.teardown(() => again.close());
  t.same(
    (await again.teamsOf('alice')).map((team) => team.name),
    ['ops'],
  );
  t.same(
    (await again.teamHistory('ops')).map((e) => e.action),
    ['created'],
    'compaction keeps the history once',
  );
  t.equal((await again.getToken(record.id))?.version, 1);
});

t.test('usage history survives restarts and compaction, summed as it was', async (t) => {
  const path = join(t.testdir({}), 'store.jsonl');
  const hour = 1_800_000_000_000 - (1_800_000_000_000 % 3_600_000);
  const count = { tokenId: 'a1a1a1a1a1a1a1a1', repository: 'sensors', hour, allowed: 2, refused: { rate_limited: 1 }, bytesIn: 10, bytesOut: 20 };
  const first = await FileStore.open(path);
  await first.addUsage([count], hour);
  await first.addUsage([count], hour);
  await first.close();
  // Opened twice: the first open compacts the two batches into one line, the second reads that.
  await (await FileStore.open(path)).close();
  const again = await FileStore.open(path);
  t.teardown(() => again.close());
  t.same(await again.usageOf(count.tokenId, hour, hour + 3_600_000), [{ hour, allowed: 4, refused: { rate_limited: 2 }, bytesIn: 20, bytesOut: 40 }]);
  t.equal(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"op":"usage"')).length,
    1,
    'one compacted usage line',
  );
});
