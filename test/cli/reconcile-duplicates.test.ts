import { join } from 'node:path';
import t from 'tap';
import { reconcile } from '../../src/cli/reconcile.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { merge, validate } from '../../src/config/load.js';
import { FileStore } from '../../src/store/file-store.js';
import { entry, makeToken } from '../helpers/records.js';

// Names are unique per scope from now on; a store written before may hold duplicates. They are
// kept, and `tollgate reconcile` lists them so an operator can rename all but one (docs/tokens.md, "Names").

t.test('reconcile lists names held twice in one scope, and only those', async (t) => {
  const path = join(t.testdir({}), 'old.jsonl');
  const store = await FileStore.open(path);
  const a = makeToken({ name: 'laptop', repository: 'sensors' }).record;
  const b = makeToken({ name: 'laptop', repository: 'sensors' }).record;
  const elsewhere = makeToken({ name: 'laptop', repository: 'billing' }).record;
  const rolled = makeToken({ name: 'ci-loader', repository: 'sensors', rolledTo: b.id }).record;
  const successor = makeToken({ name: 'ci-loader', repository: 'sensors' }).record;
  for (const record of [a, b, elsewhere, rolled, successor]) await store.createToken(record, entry('created'));
  await store.close();
  let out = '';
  const sink = {
    write: (chunk: string) => {
      out += chunk;
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const config = validate(merge(DEFAULTS, { store: { backend: 'file', file: { path } } }));
  t.equal(await reconcile(config, sink), 0);
  t.match(
    out,
    /^nothing to recount: the file store counts from its tokens\n1 token name is held by more than one token in a scope; rename all but one \(tollgate token edit ID --name NEW\):\n/,
  );
  t.match(out, new RegExp(`  repository sensors: "laptop" held by 2 tokens: (${a.id}, ${b.id}|${b.id}, ${a.id})\\n$`));
  t.notMatch(out, /ci-loader/, 'a rolled token keeps its name beside its successor');
  t.notMatch(out, /billing/, 'another repository is another scope');
});
