import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Change } from './memory/state.js';
import { MemoryStore } from './memory-store.js';
import { StoreUnavailableError } from './token-store.js';

/** The journal cannot be used: locked by another process, or damaged before its last line. */
export class FileStoreError extends Error {
  readonly code = 'TG_FILE_STORE';
  constructor(message: string) {
    super(message);
    this.name = 'FileStoreError';
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The embedded store for one process: an append-only JSON-lines journal, fsynced on every
 * change and compacted at start. A lock file next to the journal keeps a second process out,
 * since two writers would each hold their own picture of the tokens.
 */
export class FileStore extends MemoryStore {
  override readonly backend = 'file' as const;
  private handle: FileHandle | undefined;
  private readonly lockPath: string;
  /** Lines dropped at open because the last write was torn by a crash. */
  droppedTornLine = false;

  private constructor(readonly path: string) {
    super();
    this.lockPath = `${path}.lock`;
  }

  /** Opens (or creates) the journal, replays it, compacts it, and takes the lock. */
  static async open(path: string): Promise<FileStore> {
    const store = new FileStore(path);
    mkdirSync(dirname(path), { recursive: true });
    store.lock();
    try {
      store.replay();
      store.compact();
      store.handle = await open(path, 'a');
    } catch (err) {
      store.unlock();
      throw err;
    }
    return store;
  }

  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockPath, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number(readFileSync(this.lockPath, 'utf8'));
        if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
          throw new FileStoreError(
            `${this.path} is in use by process ${owner}; the file store serves one process only (use store.backend: redis to run several replicas)`,
          );
        }
        rmSync(this.lockPath, { force: true }); // left behind by a process that died
      }
    }
    throw new FileStoreError(`cannot take the lock ${this.lockPath}`);
  }

  private unlock(): void {
    rmSync(this.lockPath, { force: true });
  }

  private replay(): void {
    if (!existsSync(this.path)) return;
    const text = readFileSync(this.path, 'utf8');
    const lines = text.split('\n');
    const endsCleanly = text.endsWith('\n') || text.length === 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      let change: Change;
      try {
        change = JSON.parse(line) as Change;
      } catch {
        // Only the final line can be torn by a crash mid-write; damage anywhere else is refused.
        if (i === lines.length - 1 && !endsCleanly) {
          this.droppedTornLine = true;
          continue;
        }
        throw new FileStoreError(`${this.path}: line ${i + 1} is not a journal entry; refusing to start`);
      }
      this.state.apply(change);
    }
  }

  /** Rewrites the journal as the current state: written aside, fsynced, then renamed over. */
  private compact(): void {
    const tmp = `${this.path}.compact`;
    const fd = openSync(tmp, 'w');
    try {
      let chunk = '';
      for (const change of this.state.snapshot()) {
        chunk += `${JSON.stringify(change)}\n`;
        if (chunk.length > 1 << 20) {
          writeSync(fd, chunk);
          chunk = '';
        }
      }
      writeSync(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }

  protected override async persist(change: Change): Promise<void> {
    if (!this.handle) throw new StoreUnavailableError('write');
    try {
      await this.handle.appendFile(`${JSON.stringify(change)}\n`);
      await this.handle.datasync();
    } catch (err) {
      throw new StoreUnavailableError('write', err);
    }
  }

  override async close(): Promise<void> {
    await super.close();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
    this.unlock();
  }
}
