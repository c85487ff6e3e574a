import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * One memory-reducing collection once the process has started. Loading ~450 modules grows V8's
 * young generation to its largest size (16 MiB committed, most of it resident), and V8 never
 * shrinks it on its own while a sidecar idles; a collection that reduces memory gives it back
 * with the garbage of the start (-13 MiB RSS idle, bench/RESULTS.md). Node exposes no such call
 * without --expose-gc on the command line, so the flag is set for the moment it takes to make one
 * context that holds `gc`, then unset again: no `gc` global is left in Tollgate's own context.
 */
export function releaseStartHeap(): void {
  setFlagsFromString('--expose-gc');
  let collect: Collect;
  try {
    collect = runInNewContext('gc') as Collect;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
