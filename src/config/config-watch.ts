import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, realpathSync, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface ConfigWatchOptions {
  /** The configuration file, as named on the command line (it may be a link). */
  path: string;
  /** Called once the file's bytes differ from the last seen, after the folder has been quiet for `debounceMs`. */
  changed(): void;
  /** How long the folder must be quiet before the file is read (default 250 ms). */
  debounceMs?: number;
  /** The file's fingerprint when it was loaded (see `fingerprintOf`): a change made since is reloaded at start. */
  loaded?: string;
  /** A folder that cannot be watched: the reload then comes from SIGHUP alone. */
  unwatchable?(folder: string, err: Error): void;
}

/**
 * Watches the configuration file's folder, and the folder its link resolves to, for any change:
 * a Kubernetes ConfigMap update writes a new `..data_<time>` folder and renames a `..data` link
 * over the old one, so the file named never changes itself; an editor writes a new file and
 * renames it over the old one. Bursts are debounced, and the file is read only to compare its
 * bytes, so a change elsewhere in the folder reloads nothing.
 */
export class ConfigWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  /** When the first event of the burst now being waited out came (Date.now()). */
  private burstStartedAt: number | undefined;
  private seen: string;
  private stopped = false;

  constructor(private readonly options: ConfigWatchOptions) {
    this.seen = options.loaded ?? fingerprintOf(options.path);
  }

  start(): void {
    this.follow();
    // Changed between the load and now: no event will come for it.
    if (fingerprintOf(this.options.path) !== this.seen) this.poke();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** The folders to watch now: the named file's, and its target's once links are resolved. */
  private follow(): void {
    const named = resolve(this.options.path);
    const folders = new Set([dirname(named)]);
    try {
      folders.add(dirname(realpathSync(named)));
    } catch {
      // Not there (mid-swap, or removed): the named folder still tells when it comes back.
    }
    for (const [folder, watcher] of this.watchers) {
      if (!folders.has(folder)) {
        watcher.close();
        this.watchers.delete(folder);
      }
    }
    for (const folder of folders) {
      if (this.watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, { persistent: false }, () => this.poke());
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(folder);
        });
        this.watchers.set(folder, watcher);
      } catch (err) {
        this.options.unwatchable?.(folder, err as Error);
      }
    }
  }

  private poke(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    // A trailing debounce, bounded: a folder written to all the time must not hold a change back for ever.
    const debounceMs = this.options.debounceMs ?? 250;
    const now = Date.now();
    this.burstStartedAt ??= now;
    this.timer = setTimeout(() => this.settle(), Math.max(0, Math.min(debounceMs, this.burstStartedAt + 4 * debounceMs - now)));
    this.timer.unref();
  }

  private settle(): void {
    this.burstStartedAt = undefined;
    if (this.stopped) return;
    // The link may now point into a new folder (the old one is about to be removed).
    this.follow();
    const now = fingerprintOf(this.options.path);
    if (now === this.seen) return;
    this.seen = now;
    this.options.changed();
  }
}

/** A hash of the file's bytes through every link, or the error code that stopped the read. */
export function fingerprintOf(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`;
  }
}
