import {
  build,
  type ConnectionStringFields,
  decode,
  fail,
  hostOf,
  param,
  port,
  sslMode,
  url,
} from './common.js';

// Oracle: jdbc:oracle:thin:@, oracle:// and Easy Connect (host:port/service, tcps://).

/** Easy Connect: `[tcp(s)://|//]host[:port]/service[:server][/instance][?params]`. */
const EASY_CONNECT =
  /^(?:(tcps?):\/\/|\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/([A-Za-z0-9_.$#-]+)(?::[A-Za-z]+)?(?:\/[A-Za-z0-9_]+)?(?:\?.*)?$/;

export function easyConnect(text: string, credentials: { user?: string; password?: string } = {}) {
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
export function oracleThin(rest: string): ConnectionStringFields {
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
export function oracleUrl(text: string): ConnectionStringFields {
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
