import type { SslMode } from '../schemas/ssl.schema.js';
import {
  build,
  type ConnectionStringFields,
  decode,
  hostOf,
  isTrue,
  param,
  port,
  sslMode,
  url,
} from './common.js';

// MySQL and MariaDB: mysql://, mariadb://, and their jdbc: forms without the prefix.

/** MySQL URI `ssl-mode`, Connector/J `sslMode`, and the Go driver's `tls`. */
function mysqlSsl(params: URLSearchParams): SslMode | undefined {
  const mode = param(params, 'ssl-mode', 'sslmode', 'ssl_mode');
  if (mode !== undefined) return sslMode(mode, 'ssl-mode');
  const tls = param(params, 'tls');
  if (tls !== undefined) return sslMode(tls, 'tls');
  const useSsl = param(params, 'useSSL');
  if (useSsl !== undefined) return isTrue(useSsl) ? 'require' : 'disable';
  return undefined;
}

export function mysql(text: string): ConnectionStringFields {
  const parsed = url(text, 'mysql://');
  const params = parsed.searchParams;
  return build('MYSQL', {
    host: hostOf(parsed),
    port: port(parsed.port, 'MYSQL'),
    databaseName: decode(parsed.pathname.replace(/^\//, ''), 'database'),
    userName: parsed.username ? decode(parsed.username, 'user') : param(params, 'user'),
    password: parsed.password ? decode(parsed.password, 'password') : param(params, 'password'),
    schema: param(params, 'schema'),
    ssl: mysqlSsl(params),
  });
}
