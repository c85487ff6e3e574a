import { type Replica, startReplica } from '../app.js';
import { type Clock, systemClock } from '../clock.js';
import { ConfigWatch, fingerprintOf } from '../config/config-watch.js';
import { type LoadOptions, loadConfig } from '../config/load.js';
import type { ConfigReloader } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createStore } from '../store/create-store.js';
import type { TokenStore } from '../store/token-store.js';
import { CliFailure } from './failure.js';
import { releaseStartHeap } from './release-start-heap.js';

/** Between listening and the start heap's release: after the first probes, before traffic. */
const RELEASE_AFTER_MS = 250;

/**
 * `tollgate serve`: runs until SIGTERM/SIGINT, then drains and exits 0; a second signal exits at
 * once. SIGHUP, or a change of the file (or of its folder), reloads the configuration.
 */
export async function serve(source: LoadOptions): Promise<number> {
  // Read before the file is: a change made while the process starts is reloaded, not missed.
  const loaded = fingerprintOf(source.path);
  const config = loadConfig(source);
  const logger = createLogger(config.log.level);
  const store = await createStore(config.store, {
    onChannelSilent: (silentMs) => logger.error({ silentMs }, 'invalidation channel silent for three heartbeats: cache cleared, subscriber renewed'),
  });
  const tollgate = await startOrRelease(config, store, logger, startReplica);
  const stopReloading = reloadOnChange(source, tollgate.reloader, logger, loaded);
  // Listening now: the garbage and the grown young generation of the start go back, a moment
  // later so the first readiness probe is answered first (the collection takes 30-130 ms of CPU).
  setTimeout(releaseStartHeap, RELEASE_AFTER_MS).unref();
  return waitForSignal(logger, () => {
    stopReloading();
    return tollgate.shutdown();
  });
}

/**
 * Reads the configuration again, with the loader and environment of the start, on SIGHUP and
 * when the file's bytes change (docs/configuration.md, "Reloading"). Returns what stops both.
 */
export function reloadOnChange(source: LoadOptions, reloader: ConfigReloader, logger: Logger, loaded?: string): () => void {
  const reload = (trigger: string) => {
    try {
      reloader.reload(() => loadConfig(source), trigger);
    } catch (err) {
      logger.error({ err, trigger }, 'configuration reload failed');
    }
  };
  const onHangup = () => reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  const watch = new ConfigWatch({
    path: source.path,
    loaded,
    changed: () => reload('file'),
    unwatchable(folder, err) {
      // No folder at the default path (no file given): SIGHUP still rereads the environment.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || source.required)
        logger.warn({ folder, err: err.message }, 'configuration folder not watched: reload with SIGHUP');
    },
  });
  watch.start();
  return () => {
    process.off('SIGHUP', onHangup);
    watch.stop();
  };
}

/**
 * Starts Tollgate on an open store; when that fails (a port in use), closes the store first, so
 * a failed start leaves no file-store lock behind, and says which setting moves the busy port.
 */
export async function startOrRelease<R extends Replica>(
  config: Config,
  store: TokenStore,
  logger: Logger,
  start: (config: Config, store: TokenStore, logger: Logger, clock: Clock) => Promise<R>,
): Promise<R> {
  try {
    return await start(config, store, logger, systemClock);
  } catch (err) {
    await store.close().catch(() => undefined);
    const { code, port } = err as NodeJS.ErrnoException & { port?: number };
    if (code === 'EADDRINUSE') {
      const setting =
        port === config.proxy.listen.port
          ? 'TOLLGATE_PROXY_LISTEN (proxy.listen)'
          : port === config.admin.listen.port
            ? 'TOLLGATE_ADMIN_LISTEN (admin.listen)'
            : 'its listen setting';
      throw new CliFailure(
        `port ${port} is in use; move it with ${setting}, e.g. ${setting.startsWith('TOLLGATE_') ? `${setting.split(' ')[0]}=127.0.0.1:${(port ?? 0) + 10000}` : 'another port'}`,
      );
    }
    throw err;
  }
}

/** Resolves with the exit status once shutdown after the first signal is done. */
export function waitForSignal(logger: Logger, shutdown: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let isStopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (isStopping) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(1);
      }
      isStopping = true;
      logger.info({ signal }, 'draining');
      shutdown().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
