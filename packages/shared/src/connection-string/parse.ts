import { CONNECTION_STRING_MAX_LENGTH, type ConnectionStringFields, fail } from './common.js';
import { mongo } from './mongodb.js';
import { mysql } from './mysql.js';
import { easyConnect, oracleThin, oracleUrl } from './oracle.js';
import { postgres } from './postgres.js';
import { ado, sqlServerProperties, sqlServerUrl } from './sqlserver.js';

/**
 * Reads a connection string in any of the forms the service accepts: `postgres(ql)://`,
 * `jdbc:postgresql://`, `mysql://`, `mariadb://`, `jdbc:mysql://`, `jdbc:mariadb://`,
 * `sqlserver://` (URL or JDBC-style properties), `jdbc:sqlserver://`, the ADO.NET form
 * (`Server=tcp:host,1433;Database=…;User Id=…;Password=…`), `jdbc:oracle:thin:@//host:port/service`,
 * Oracle Easy Connect (`host:port/service`, `tcps://host:port/service`), `oracle://`,
 * `mongodb://` and `mongodb+srv://` (kept as the SRV name with `metadata.srv`: the worker looks the
 * members up in its dns stage, under the egress policy). Throws ConnectionStringError naming what is wrong, never quoting the input.
 */
export function parseConnectionString(input: string): ConnectionStringFields {
  const text = input.trim();
  if (text.length === 0) fail('connectionString is empty');
  if (text.length > CONNECTION_STRING_MAX_LENGTH)
    fail(`connectionString must be at most ${CONNECTION_STRING_MAX_LENGTH} characters`);
  const lower = text.toLowerCase();
  const startsWith = (...prefixes: string[]) => prefixes.some((p) => lower.startsWith(p));

  if (startsWith('postgres://', 'postgresql://')) return postgres(text);
  if (startsWith('jdbc:postgresql://')) return postgres(text.slice('jdbc:'.length));
  if (startsWith('mysql://', 'mariadb://')) return mysql(text);
  if (startsWith('jdbc:mysql://', 'jdbc:mariadb://')) return mysql(text.slice('jdbc:'.length));
  if (startsWith('jdbc:sqlserver://')) return sqlServerProperties(text.slice('jdbc:sqlserver://'.length));
  if (startsWith('sqlserver://')) {
    const rest = text.slice('sqlserver://'.length);
    // `sqlserver://host:1433;databaseName=…` is the JDBC form without its prefix.
    return rest.includes(';') ? sqlServerProperties(rest) : sqlServerUrl(text);
  }
  if (startsWith('jdbc:oracle:thin:')) return oracleThin(text.slice('jdbc:oracle:thin:'.length));
  if (startsWith('oracle://')) return oracleUrl(text);
  if (startsWith('mongodb://', 'mongodb+srv://')) return mongo(text);
  if (startsWith('tcp://', 'tcps://'))
    return (
      easyConnect(text) ??
      fail('connectionString is not a valid Easy Connect string (tcps://host:port/service)')
    );
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1];
  if (scheme) fail(`connectionString scheme ${scheme.toLowerCase()}:// is not one this service understands`);
  if (/^\s*(server|data source|address|addr|network address)\s*=/i.test(text)) return ado(text);
  const easy = easyConnect(text);
  if (easy) return easy;
  return fail(
    'connectionString is not a form this service understands (postgres://, mysql://, mariadb://, sqlserver://, ADO.NET Server=…;, jdbc:postgresql://, jdbc:mysql://, jdbc:sqlserver://, jdbc:oracle:thin:@//, Oracle Easy Connect host:port/service, mongodb://)',
  );
}
