import { startTollgate } from '../app.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createStore } from '../store/create-store.js';

/** `tollgate serve`: runs until SIGTERM/SIGINT, then drains and exits 0; a second signal exits at once. */
export async function serve(config: Config): Promise<number> {
  const logger = createLogger(config.log.level);
  const store = await createStore(config.store, {
    onChannelSilent: (silentMs) =>
      logger.error({ silentMs }, 'invalidation channel silent for three heartbeats: cache cleared, subscriber renewed'),
  });
  const tollgate = await startTollgate(config, store, logger, systemClock);
  return waitForSignal(logger, () => tollgate.shutdown());
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
