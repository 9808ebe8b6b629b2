import { type Logger, type LoggerOptions, pino } from 'pino';
import { traceFields } from './telemetry/tracing.js';

/**
 * Paths that may hold a secret anywhere a connection, a request body or a driver config is
 * logged. pino's `*` matches one level, so each depth we log at is listed.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  // A connection string carries the password (docs/contract.md §12).
  'connectionString',
  '*.connectionString',
  '*.*.connectionString',
  'ssl.ca',
  'ssl.cert',
  'ssl.key',
  '*.ssl.ca',
  '*.ssl.cert',
  '*.ssl.key',
  '*.*.ssl.key',
  '*.*.ssl.cert',
  '*.*.ssl.ca',
  'sealedSecrets',
  '*.sealedSecrets',
  'secrets',
  '*.secrets',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export function createLogger(
  options: { level: string; name: string },
  destination?: pino.DestinationStream,
): Logger {
  const opts: LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // `trace_id` and `span_id` of the active span on every line written inside a request or a job.
    mixin: traceFields,
  };
  return destination ? pino(opts, destination) : pino(opts);
}

export type { Logger };
