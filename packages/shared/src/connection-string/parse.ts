import { ConnectionString } from 'mongodb-connection-string-url';
import { parse as parsePostgres } from 'pg-connection-string';
import { type ConnectionType, SSL_MODE_ALIASES, type SslMode } from '../schemas/connection.schema.js';

/**
 * What a connection string says, in the create body's own fields (docs/contract.md §12). Every
 * field rule of the body still applies to these values afterwards; this module only reads the
 * string's syntax. A field the string does not carry is left out.
 */
export interface ConnectionStringFields {
  type: ConnectionType;
  host: string;
  port: number;
  databaseName?: string;
  userName?: string;
  password?: string;
  schema?: string;
  ssl?: { mode: SslMode };
  metadata?: Record<string, string>;
}

/**
 * A string that cannot be read. The message is safe to show: it never quotes the input, which
 * carries a password (parsers' own messages may, so they are never passed on).
 */
export class ConnectionStringError extends Error {
  override name = 'ConnectionStringError';
}

/** Strings longer than this are refused before any parsing (a password is at most 1024). */
export const CONNECTION_STRING_MAX_LENGTH = 4096;

/** The port each engine listens on when the string names none. */
export const DEFAULT_PORTS: Readonly<Record<ConnectionType, number>> = {
  POSTGRESQL: 5432,
  MYSQL: 3306,
  SQL_SERVER: 1433,
  ORACLE: 1521,
  MONGODB: 27017,
};

const fail = (message: string): never => {
  throw new ConnectionStringError(message);
};

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

// ---- shared pieces

/** Parses with WHATWG URL; the parser's error (which quotes the input) is never passed on. */
function url(text: string, what: string): URL {
  try {
    return new URL(text);
  } catch {
    return fail(
      `connectionString is not a valid ${what} URL (check the port, and percent-encode @ : / in the password)`,
    );
  }
}

function port(raw: string | null | undefined, type: ConnectionType): number {
  if (raw === undefined || raw === null || raw === '') return DEFAULT_PORTS[type];
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
    return fail('the port in connectionString must be a whole number from 1 to 65535');
  }
  return Number(raw);
}

function decode(component: string, what: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return fail(`the ${what} in connectionString is not valid percent-encoding`);
  }
}

/** A URL's host without IPv6 brackets; refuses a host list (one server per connection). */
function hostOf(parsed: URL): string {
  const host = parsed.hostname.replace(/^\[(.+)\]$/, '$1');
  if (host === '') fail('connectionString names no host');
  return decode(host, 'host');
}

/** A query parameter by any letter case of one of `names`. */
function param(params: URLSearchParams, ...names: string[]): string | undefined {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const [key, value] of params) if (wanted.has(key.toLowerCase())) return value;
  return undefined;
}

/** An ssl mode written in the service's vocabulary or an engine alias (`sslmode=` is accepted in every URL form). */
function sslMode(value: string, what: string): SslMode {
  const mode = SSL_MODE_ALIASES[value.trim().toLowerCase()];
  return (
    mode ??
    fail(`connectionString ${what}=${value.length <= 20 ? value : '…'} is not an SSL mode this service knows`)
  );
}

const isTrue = (v: string) => ['true', 'yes', '1', 'on'].includes(v.trim().toLowerCase());
const isFalse = (v: string) => ['false', 'no', '0', 'off'].includes(v.trim().toLowerCase());

function build(
  type: ConnectionType,
  parts: {
    host: string;
    port: number;
    databaseName?: string | undefined;
    userName?: string | undefined;
    password?: string | undefined;
    schema?: string | undefined;
    ssl?: SslMode | undefined;
    metadata?: Record<string, string> | undefined;
  },
): ConnectionStringFields {
  const present = (v: string | undefined) => v !== undefined && v !== '';
  return {
    type,
    host: parts.host,
    port: parts.port,
    ...(present(parts.databaseName) ? { databaseName: parts.databaseName } : {}),
    ...(present(parts.userName) ? { userName: parts.userName } : {}),
    ...(present(parts.password) ? { password: parts.password } : {}),
    ...(present(parts.schema) ? { schema: parts.schema } : {}),
    ...(parts.ssl ? { ssl: { mode: parts.ssl } } : {}),
    ...(parts.metadata && Object.keys(parts.metadata).length > 0 ? { metadata: parts.metadata } : {}),
  };
}

// ---- PostgreSQL

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

function postgres(text: string): ConnectionStringFields {
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

// ---- MySQL / MariaDB

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

function mysql(text: string): ConnectionStringFields {
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

// ---- SQL Server

/**
 * `encrypt` as SQL Server drivers mean it: true/mandatory verifies the certificate unless
 * trustServerCertificate is true (then it only encrypts); strict always verifies; false/optional
 * does not ask for TLS.
 */
function sqlServerSsl(encrypt: string | undefined, trust: string | undefined, sslmode: string | undefined) {
  if (sslmode !== undefined) return sslMode(sslmode, 'sslmode');
  if (encrypt === undefined) return undefined;
  const value = encrypt.trim().toLowerCase();
  if (value === 'strict') return 'verify-full';
  if (isTrue(value) || value === 'mandatory')
    return trust !== undefined && isTrue(trust) ? 'require' : 'verify-full';
  if (isFalse(value) || value === 'optional') return 'disable';
  return fail('connectionString encrypt must be true, false, strict, mandatory or optional');
}

/** `host`, `host,port`, `tcp:host,port` or `host\instance` of ADO.NET / JDBC. */
function sqlServerServer(value: string, portText?: string): { host: string; port: number } {
  let server = value.trim();
  const protocol = /^([a-z]+):/i.exec(server)?.[1]?.toLowerCase();
  if (protocol === 'tcp') server = server.slice(4);
  else if (protocol && protocol !== server.toLowerCase()) {
    // np: (named pipes), lpc: (shared memory), admin: — not reachable over TCP.
    if (['np', 'lpc', 'admin'].includes(protocol))
      fail(`connectionString server uses ${protocol}:, which is not TCP: give the TCP host and port`);
  }
  let portPart = portText;
  const comma = server.lastIndexOf(',');
  if (comma !== -1) {
    portPart = server.slice(comma + 1).trim();
    server = server.slice(0, comma).trim();
  }
  if (server.includes('\\')) {
    if (!portPart) {
      fail(
        'connectionString names a SQL Server instance without a port: give its TCP port (host,port); the SQL Browser is not queried',
      );
    }
    server = server.slice(0, server.indexOf('\\'));
  }
  server = server.replace(/^\[(.+)\]$/, '$1');
  if (server === '' || server === '.' || server.toLowerCase() === '(local)') {
    if (server === '') fail('connectionString names no server');
    server = 'localhost';
  }
  return { host: server, port: port(portPart, 'SQL_SERVER') };
}

/** `key=value;key=value` with ADO.NET quoting ("…" or '…', doubled to escape) or JDBC braces ({…}). */
function properties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    while (i < text.length && (text[i] === ';' || /\s/.test(text[i] as string))) i++;
    if (i >= text.length) break;
    const eq = text.indexOf('=', i);
    if (eq === -1) fail('connectionString has a part without "=": expected key=value pairs separated by ;');
    const key = text.slice(i, eq).trim().toLowerCase().replace(/\s+/g, ' ');
    i = eq + 1;
    while (text[i] === ' ') i++;
    let value = '';
    const open = text[i];
    const close = open === '{' ? '}' : open;
    if (open === '"' || open === "'" || open === '{') {
      i++;
      for (;;) {
        if (i >= text.length) fail(`connectionString has an unterminated quoted value for ${key}`);
        if (text[i] === close) {
          // A doubled closing character stands for itself ("" in ADO.NET, }} in JDBC).
          if (text[i + 1] === close) {
            value += close;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      while (i < text.length && text[i] !== ';') {
        if (!/\s/.test(text[i] as string)) fail(`connectionString has text after the quoted value of ${key}`);
        i++;
      }
    } else {
      const end = text.indexOf(';', i);
      value = (end === -1 ? text.slice(i) : text.slice(i, end)).trim();
      i = end === -1 ? text.length : end;
    }
    if (key === '') fail('connectionString has an empty key');
    out.set(key, value);
  }
  return out;
}

const pick = (props: Map<string, string>, ...keys: string[]) => {
  for (const key of keys) {
    const value = props.get(key);
    if (value !== undefined) return value;
  }
  return undefined;
};

function refuseIntegratedSecurity(props: Map<string, string>): void {
  const integrated = pick(props, 'integrated security', 'trusted_connection', 'integratedsecurity');
  if (integrated !== undefined && (isTrue(integrated) || integrated.toLowerCase() === 'sspi')) {
    fail(
      'connectionString asks for Windows (integrated) authentication, which this service cannot use: give User Id and Password',
    );
  }
  const authentication = pick(props, 'authentication');
  if (authentication !== undefined && !/^sql ?password$/i.test(authentication)) {
    fail(
      'connectionString asks for an authentication method other than SQL Server logins: give User Id and Password',
    );
  }
}

function ado(text: string): ConnectionStringFields {
  const props = properties(text);
  refuseIntegratedSecurity(props);
  const server = pick(props, 'server', 'data source', 'address', 'addr', 'network address');
  if (server === undefined) return fail('connectionString names no Server');
  const { host, port: p } = sqlServerServer(server);
  return build('SQL_SERVER', {
    host,
    port: p,
    databaseName: pick(props, 'database', 'initial catalog'),
    userName: pick(props, 'user id', 'uid', 'user', 'user name', 'username'),
    password: pick(props, 'password', 'pwd'),
    ssl: sqlServerSsl(
      pick(props, 'encrypt'),
      pick(props, 'trustservercertificate', 'trust server certificate'),
      pick(props, 'sslmode'),
    ),
  });
}

/** `host[\instance][:port];prop=value;…` — JDBC (with or without `jdbc:`). */
function sqlServerProperties(rest: string): ConnectionStringFields {
  const semicolon = rest.indexOf(';');
  const authority = (semicolon === -1 ? rest : rest.slice(0, semicolon)).trim();
  const props = properties(semicolon === -1 ? '' : rest.slice(semicolon + 1));
  refuseIntegratedSecurity(props);
  let hostText = authority || pick(props, 'servername', 'server') || '';
  let portText = pick(props, 'portnumber', 'port');
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostText);
  if (bracketed) {
    hostText = bracketed[1] as string;
    portText = bracketed[2] ?? portText;
  } else {
    const colon = hostText.lastIndexOf(':');
    if (colon !== -1 && hostText.indexOf(':') === colon) {
      portText = hostText.slice(colon + 1);
      hostText = hostText.slice(0, colon);
    }
  }
  const { host, port: p } = sqlServerServer(hostText, portText);
  return build('SQL_SERVER', {
    host,
    port: p,
    databaseName: pick(props, 'databasename', 'database'),
    userName: pick(props, 'user', 'username', 'userid'),
    password: pick(props, 'password'),
    schema: pick(props, 'schema'),
    ssl: sqlServerSsl(pick(props, 'encrypt'), pick(props, 'trustservercertificate'), pick(props, 'sslmode')),
  });
}

/** `sqlserver://user:password@host:port?database=db&encrypt=true` (the Go driver's URL form). */
function sqlServerUrl(text: string): ConnectionStringFields {
  const parsed = url(text, 'sqlserver://');
  const params = parsed.searchParams;
  const props = new Map<string, string>([...params].map(([k, v]) => [k.toLowerCase(), v]));
  refuseIntegratedSecurity(props);
  const instance = parsed.pathname.replace(/^\//, '');
  if (instance && !parsed.port) {
    fail(
      'connectionString names a SQL Server instance without a port: give its TCP port; the SQL Browser is not queried',
    );
  }
  return build('SQL_SERVER', {
    host: hostOf(parsed),
    port: port(parsed.port, 'SQL_SERVER'),
    databaseName: param(params, 'database', 'databaseName', 'initial catalog'),
    userName: parsed.username ? decode(parsed.username, 'user') : param(params, 'user id', 'user'),
    password: parsed.password ? decode(parsed.password, 'password') : param(params, 'password'),
    schema: param(params, 'schema'),
    ssl: sqlServerSsl(
      param(params, 'encrypt'),
      param(params, 'TrustServerCertificate'),
      param(params, 'sslmode'),
    ),
  });
}

// ---- Oracle

/** Easy Connect: `[tcp(s)://|//]host[:port]/service[:server][/instance][?params]`. */
const EASY_CONNECT =
  /^(?:(tcps?):\/\/|\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/([A-Za-z0-9_.$#-]+)(?::[A-Za-z]+)?(?:\/[A-Za-z0-9_]+)?(?:\?.*)?$/;

function easyConnect(text: string, credentials: { user?: string; password?: string } = {}) {
  const match = EASY_CONNECT.exec(text.trim());
  if (!match) return undefined;
  const [, protocol, host = '', portText, service] = match;
  return build('ORACLE', {
    host: host.replace(/^\[(.+)\]$/, '$1'),
    port: port(portText, 'ORACLE'),
    databaseName: service,
    userName: credentials.user,
    password: credentials.password,
    ssl: protocol?.toLowerCase() === 'tcps' ? 'require' : undefined,
  });
}

/** `jdbc:oracle:thin:[user/password]@//host:port/service` (the SID form `@host:port:SID` is refused). */
function oracleThin(rest: string): ConnectionStringFields {
  const at = rest.lastIndexOf('@');
  if (at === -1) return fail('connectionString jdbc:oracle:thin: needs @//host:port/service');
  const credentials = rest.slice(0, at);
  const target = rest.slice(at + 1).trim();
  if (target.startsWith('(')) {
    fail('connectionString uses a TNS descriptor, which is not supported: give //host:port/service');
  }
  if (/^[^/]+:\d+:[^/]+$/.test(target)) {
    fail(
      'connectionString uses the SID form (host:port:SID), which is not supported: give the service name as //host:port/service',
    );
  }
  const slash = credentials.indexOf('/');
  const fields = easyConnect(target, {
    ...(credentials ? { user: slash === -1 ? credentials : credentials.slice(0, slash) } : {}),
    ...(slash !== -1 ? { password: credentials.slice(slash + 1) } : {}),
  });
  return fields ?? fail('connectionString jdbc:oracle:thin: needs @//host:port/service');
}

/** `oracle://user:password@host:port/service?sslmode=…` (the form connectionUrl uses). */
function oracleUrl(text: string): ConnectionStringFields {
  const parsed = url(text, 'oracle://');
  const params = parsed.searchParams;
  const modeText = param(params, 'sslmode');
  return build('ORACLE', {
    host: hostOf(parsed),
    port: port(parsed.port, 'ORACLE'),
    databaseName: decode(parsed.pathname.replace(/^\//, ''), 'service name'),
    userName: parsed.username ? decode(parsed.username, 'user') : undefined,
    password: parsed.password ? decode(parsed.password, 'password') : undefined,
    schema: param(params, 'schema'),
    ssl: modeText ? sslMode(modeText, 'sslmode') : undefined,
  });
}

// ---- MongoDB

/**
 * The metadata key that marks a MongoDB host as an SRV name (`mongodb+srv://`): the worker asks for
 * `_mongodb._tcp.<host>` and dials a member it finds, so the port field is not dialled.
 */
export const MONGODB_SRV_METADATA_KEY = 'srv';

function mongoSsl(params: URLSearchParams, isSrv: boolean): SslMode | undefined {
  const modeText = param(params, 'sslmode');
  if (modeText !== undefined) return sslMode(modeText, 'sslmode');
  const tls = param(params, 'tls', 'ssl');
  // The MongoDB drivers turn TLS on for +srv unless the string says tls=false.
  if (tls === undefined) return isSrv ? 'verify-full' : undefined;
  if (isFalse(tls)) return 'disable';
  if (!isTrue(tls)) return fail('connectionString tls must be true or false');
  const insecure = [param(params, 'tlsInsecure'), param(params, 'tlsAllowInvalidCertificates')].some(
    (v) => v !== undefined && isTrue(v),
  );
  if (insecure) return 'require';
  const anyHost = param(params, 'tlsAllowInvalidHostnames');
  return anyHost !== undefined && isTrue(anyHost) ? 'verify-ca' : 'verify-full';
}

function mongo(text: string): ConnectionStringFields {
  let parsed: ConnectionString;
  try {
    parsed = new ConnectionString(text);
  } catch {
    return fail(
      'connectionString is not a valid mongodb:// or mongodb+srv:// URL (percent-encode @ : / in the password; +srv takes one name and no port)',
    );
  }
  if (parsed.hosts.length !== 1) {
    fail(
      'connectionString names several hosts: give one member of the replica set (this service verifies one host)',
    );
  }
  const hostPort = parsed.hosts[0] as string;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  const [host, portText] = bracketed
    ? [bracketed[1] as string, bracketed[2]]
    : [hostPort.split(':')[0] as string, hostPort.split(':')[1]];
  const params = parsed.searchParams as unknown as URLSearchParams;
  const authSource = param(params, 'authSource');
  const metadata: Record<string, string> = {
    ...(authSource ? { authSource } : {}),
    ...(parsed.isSRV ? { [MONGODB_SRV_METADATA_KEY]: 'true' } : {}),
  };
  return build('MONGODB', {
    host: decode(host, 'host'),
    port: port(portText, 'MONGODB'),
    databaseName: decode(parsed.pathname.replace(/^\//, ''), 'database'),
    userName: parsed.username ? decode(parsed.username, 'user') : undefined,
    password: parsed.password ? decode(parsed.password, 'password') : undefined,
    schema: param(params, 'schema'),
    ssl: mongoSsl(params, parsed.isSRV),
    metadata,
  });
}
