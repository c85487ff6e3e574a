import type { ConfigPart } from '../config/reload.js';
import type { Logger } from '../log/logger.js';
import { startTracing } from './start-tracing.js';
import type { AdminTrace, ExchangeTrace, TracedProtocol, Tracing } from './tracing.js';

/**
 * The tracing every port holds: a reload of `telemetry` puts new tracing in it (the SDK imported
 * then, if it was off), and spans started from then on use it. One call more per exchange.
 */
export class TracingSlot implements Tracing {
  constructor(private current: Tracing) {}

  startExchange(protocol: TracedProtocol, method: string, rawHeaders: readonly string[]): ExchangeTrace {
    return this.current.startExchange(protocol, method, rawHeaders);
  }

  startAdmin(method: string, rawHeaders: readonly string[]): AdminTrace {
    return this.current.startAdmin(method, rawHeaders);
  }

  /** New tracing in, the old one sends what it has queued and stops (spans of exchanges still open under it are not sent). */
  use(next: Tracing): Promise<void> {
    const previous = this.current;
    this.current = next;
    return previous.shutdown();
  }

  shutdown(): Promise<void> {
    return this.current.shutdown();
  }
}

/** The reload part for `telemetry` (docs/configuration.md, "Reloading"): new settings, new tracing. */
export function telemetryPart(slot: TracingSlot, logger: Logger): ConfigPart {
  return {
    keys: ['telemetry'],
    apply(next) {
      startTracing(next.telemetry, logger)
        .then((tracing) => slot.use(tracing))
        .catch((err: unknown) => logger.error({ err: (err as Error).message }, 'telemetry: new settings not applied; tracing as before'));
    },
  };
}
