import { parse as parsePostgres } from 'pg-connection-string';
import {
  build,
  type ConnectionStringFields,
  fail,
  hostOf,
  isFalse,
  isTrue,
  param,
  port,
  sslMode,
  url,
} from './common.js';

// PostgreSQL: postgres(ql)://, and jdbc:postgresql:// without its prefix (parse.ts picks the family).

/**
 * libpq parameters that name files: pg-connection-string would read them from this service's own
 * disk (and a client certificate read that way would be sent to the server named in the string).
 */
const POSTGRES_FILE_PARAMS = [
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'passfile',
  'service',
  'servicefile',
];
/** Parameters read here, not by pg-connection-string (it warns on sslmode and throws on verify-ca without a file). */
const POSTGRES_OWN_PARAMS = ['sslmode', 'ssl', 'currentschema', 'options'];

export function postgres(text: string): ConnectionStringFields {
  const parsed = url(text, 'postgres://');
  for (const key of parsed.searchParams.keys()) {
    const name = key.toLowerCase();
    if (POSTGRES_FILE_PARAMS.includes(name)) {
      fail(
        `connectionString parameter ${name} names a file, which this service does not read: give the PEM text in ssl.ca, ssl.cert and ssl.key instead`,
      );
    }
    if (name === 'host' || name === 'hostaddr' || name === 'port') {
      fail(`connectionString parameter ${name} is not supported: give one host and port in the URL itself`);
    }
  }
  const params = parsed.searchParams;
  const rest = new URL(parsed.href);
  for (const key of [...rest.searchParams.keys()]) {
    if (POSTGRES_OWN_PARAMS.includes(key.toLowerCase())) rest.searchParams.delete(key);
  }
  let config: ReturnType<typeof parsePostgres>;
  try {
    config = parsePostgres(rest.href);
  } catch {
    return fail('connectionString is not a valid postgres:// URL');
  }
  const modeText = param(params, 'sslmode');
  const ssl = param(params, 'ssl');
  const mode = modeText
    ? sslMode(modeText, 'sslmode')
    : ssl !== undefined && isTrue(ssl)
      ? 'verify-full'
      : ssl !== undefined && isFalse(ssl)
        ? 'disable'
        : undefined;
  // pgJDBC's currentSchema, or libpq's `options=-c search_path=<schema>`.
  const searchPath = /(?:^|\s)-c\s*search_path=([^\s,]+)/.exec(param(params, 'options') ?? '')?.[1];
  return build('POSTGRESQL', {
    host: config.host ? config.host : hostOf(parsed),
    port: port(config.port, 'POSTGRESQL'),
    databaseName: config.database ?? undefined,
    userName: config.user,
    password: config.password,
    schema: param(params, 'currentSchema') ?? searchPath,
    ssl: mode,
  });
}
