import { join } from 'node:path';
import t from 'tap';
import { FileStore } from '../../src/store/file-store.js';
import { storeContract } from './store-contract.js';

const dir = t.testdir({});
let n = 0;
storeContract(t, async () => FileStore.open(join(dir, `store-${n++}.jsonl`)));
