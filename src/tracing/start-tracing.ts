import { readBuildInfo } from '../log/build-info.js';
import type { Logger } from '../log/logger.js';
import type { TelemetrySettings } from './otel-tracing.js';
import { NO_TRACING, type Tracing } from './tracing.js';

/**
 * Tracing as `telemetry` asks (docs/tracing.md): with no `otlp.endpoint` the shared no-op,
 * and the OpenTelemetry SDK is never imported (a proxy replica's footprint stays as it was);
 * with one, the SDK is imported here, once, at start.
 */
export async function startTracing(settings: TelemetrySettings, logger: Logger): Promise<Tracing> {
  if (settings.otlp.endpoint === '') return NO_TRACING;
  const { OtelTracing } = await import('./otel-tracing.js');
  const tracing = new OtelTracing(settings, logger, readBuildInfo().version);
  // The endpoint is no secret; the headers may be (a collector's API key) and are never logged.
  logger.info(
    { endpoint: settings.otlp.endpoint, sampleRatio: settings.sampleRatio, serviceName: settings.serviceName },
    'telemetry: traces exported over OTLP/HTTP',
  );
  return tracing;
}
