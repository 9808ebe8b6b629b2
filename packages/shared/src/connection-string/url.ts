import type { ConnectionType } from '../schemas/connection.schema.js';
import type { SslMode } from '../schemas/ssl.schema.js';

/** What the canonical URL is made of: the dialled fields, never a secret. */
export interface ConnectionUrlFields {
  type: ConnectionType;
  host: string;
  port: number;
  databaseName: string;
  userName: string;
  schema?: string | undefined;
  sslMode?: SslMode | undefined;
  metadata?: Readonly<Record<string, string>> | undefined;
}

/** MySQL's own `ssl-mode` names: one for each of the service's modes. */
const MYSQL_SSL_MODES: Record<SslMode, string> = {
  disable: 'DISABLED',
  prefer: 'PREFERRED',
  require: 'REQUIRED',
  'verify-ca': 'VERIFY_CA',
  'verify-full': 'VERIFY_IDENTITY',
};

/** SQL Server's `encrypt` where it says the same as the mode; `prefer` and `verify-ca` have no equivalent. */
const SQLSERVER_ENCRYPT: Partial<Record<SslMode, Record<string, string>>> = {
  disable: { encrypt: 'false' },
  require: { encrypt: 'true', trustServerCertificate: 'true' },
  'verify-full': { encrypt: 'strict' },
};

/** MongoDB's `tls` options where they say the same as the mode; `prefer` has no equivalent. */
const MONGODB_TLS: Partial<Record<SslMode, Record<string, string>>> = {
  disable: { tls: 'false' },
  require: { tls: 'true', tlsInsecure: 'true' },
  'verify-ca': { tls: 'true', tlsAllowInvalidHostnames: 'true' },
  'verify-full': { tls: 'true' },
};

const hostPart = (host: string) => (host.includes(':') ? `[${host}]` : host);
const enc = encodeURIComponent;

/**
 * The canonical URL of a connection, without its password (the resource's `connectionUrl`): each
 * engine's usual URL form with its own TLS parameter where one means the same as the ssl mode,
 * `sslmode=` where none does. `parseConnectionString` reads it back to the same fields.
 */
export function toConnectionUrl(fields: ConnectionUrlFields): string {
  const { type, host, port, databaseName, userName, schema, sslMode } = fields;
  const params = new URLSearchParams();
  const authority = `${enc(userName)}@${hostPart(host)}:${port}`;
  switch (type) {
    case 'POSTGRESQL': {
      if (sslMode) params.set('sslmode', sslMode);
      if (schema) params.set('options', `-c search_path=${schema}`);
      return withQuery(`postgresql://${authority}/${enc(databaseName)}`, params);
    }
    case 'MYSQL': {
      if (sslMode) params.set('ssl-mode', MYSQL_SSL_MODES[sslMode]);
      if (schema) params.set('schema', schema);
      return withQuery(`mysql://${authority}/${enc(databaseName)}`, params);
    }
    case 'SQL_SERVER': {
      params.set('database', databaseName);
      if (sslMode) setAll(params, SQLSERVER_ENCRYPT[sslMode] ?? { sslmode: sslMode });
      if (schema) params.set('schema', schema);
      return withQuery(`sqlserver://${authority}`, params);
    }
    case 'ORACLE': {
      if (sslMode) params.set('sslmode', sslMode);
      if (schema) params.set('schema', schema);
      const service = fields.metadata?.serviceName ?? databaseName;
      return withQuery(`oracle://${authority}/${enc(service)}`, params);
    }
    case 'MONGODB': {
      const authSource = fields.metadata?.authSource;
      if (authSource) params.set('authSource', authSource);
      if (sslMode) setAll(params, MONGODB_TLS[sslMode] ?? { sslmode: sslMode });
      if (schema) params.set('schema', schema);
      // An SRV name has no port of its own: the members' ports come from the SRV records.
      if (fields.metadata?.srv === 'true')
        return withQuery(`mongodb+srv://${enc(userName)}@${hostPart(host)}/${enc(databaseName)}`, params);
      return withQuery(`mongodb://${authority}/${enc(databaseName)}`, params);
    }
    default: {
      const unknown: never = type;
      throw new Error(`no URL form for ${String(unknown)}`);
    }
  }
}

function setAll(params: URLSearchParams, values: Record<string, string>): void {
  for (const [key, value] of Object.entries(values)) params.set(key, value);
}

function withQuery(base: string, params: URLSearchParams): string {
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}
