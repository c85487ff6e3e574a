import { type Logger, pino } from 'pino';

export type { Logger };

/** Paths redacted in every log line, wherever a secret could be carried. */
export const REDACT_PATHS = [
  'authorization',
  'secret',
  'token',
  '*.authorization',
  '*.secret',
  '*.token',
  'headers.authorization',
  'req.headers.authorization',
  'err.config.headers.authorization',
];

/** A pino JSON logger to stdout (or `destination`), with secrets redacted. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'tollgate' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
