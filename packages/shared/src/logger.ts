import { type Logger, type LoggerOptions, pino } from 'pino';
import { traceFields } from './telemetry/tracing.js';

/**
 * Keys whose value is a secret wherever they appear in a logged object: a connection's or a request
 * body's password, a connection string (it carries the password: docs/contract.md §12), sealed
 * secrets, and the headers that carry a token. `ssl` objects lose their `ca`, `cert` and `key`.
 */
const SECRET_KEYS = new Set([
  'password',
  'connectionString',
  'sealedSecrets',
  'secrets',
  'authorization',
  'cookie',
]);
const SSL_SECRET_KEYS = ['ca', 'cert', 'key'];
const CENSOR = '[redacted]';
/** Deeper than anything we log; a cycle or a driver's object graph stops here. */
const MAX_DEPTH = 8;

/**
 * `value` with every secret (above) replaced by `[redacted]`, at any depth. What holds no secret is
 * given back as it is, and what does is copied, never changed in place.
 *
 * pino's own `redact` option did this for a list of paths (one per depth we log at): 20.5–21 µs
 * for a create's two lines, against 3.3–3.5 µs with this walk and 2.6–2.8 µs with no redaction
 * (bench/README.md, third pass). The walk also needs no list of depths, and it covers a child's
 * bindings, which the paths reached only at their own depth.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH || ArrayBuffer.isView(value)) {
    return value;
  }
  // An error as pino writes one (type, message, stack, its own fields, its cause), then cleaned.
  if (value instanceof Error) return redactSecrets(pino.stdSerializers.err(value), depth) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = redactSecrets(item, depth + 1);
      if (clean !== item) {
        out ??= [...value];
        out[i] = clean;
      }
    });
    return (out ?? value) as T;
  }
  const source = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    const item = source[key];
    let clean: unknown;
    if (SECRET_KEYS.has(key)) clean = item === undefined ? item : CENSOR;
    else if (key === 'ssl' && item !== null && typeof item === 'object') clean = redactSsl(item, depth);
    else clean = redactSecrets(item, depth + 1);
    if (clean !== item) {
      out ??= { ...source };
      out[key] = clean;
    }
  }
  return (out ?? value) as T;
}

function redactSsl(ssl: object, depth: number): unknown {
  const clean = redactSecrets(ssl, depth + 1) as Record<string, unknown>;
  if (!SSL_SECRET_KEYS.some((key) => clean[key] !== undefined)) return clean;
  const out = { ...clean };
  for (const key of SSL_SECRET_KEYS) if (out[key] !== undefined) out[key] = CENSOR;
  return out;
}

export function createLogger(
  options: { level: string; name: string },
  destination?: pino.DestinationStream,
): Logger {
  const opts: LoggerOptions = {
    name: options.name,
    level: options.level,
    // Every line, before pino's serializers; an error anywhere in it is written as pino writes
    // `err` (the serializer below then finds it done).
    formatters: { log: redactSecrets },
    serializers: { err: redactSecrets },
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // `trace_id` and `span_id` of the active span on every line written inside a request or a job.
    mixin: traceFields,
  };
  const logger = destination ? pino(opts, destination) : pino(opts);
  // A child's bindings skip the formatter (pino writes them once, at `child()`): cleaned on the way
  // in. Children inherit this method, so grandchildren's are too.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactSecrets(bindings), options);
  } as Logger['child'];
  return logger;
}

export type { Logger };
