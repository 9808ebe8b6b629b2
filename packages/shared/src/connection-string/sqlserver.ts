import {
  build,
  type ConnectionStringFields,
  decode,
  fail,
  hostOf,
  isFalse,
  isTrue,
  param,
  port,
  sslMode,
  url,
} from './common.js';

// SQL Server: sqlserver:// URLs, JDBC-style properties (jdbc:sqlserver://) and the ADO.NET form.

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

export function ado(text: string): ConnectionStringFields {
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
export function sqlServerProperties(rest: string): ConnectionStringFields {
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
export function sqlServerUrl(text: string): ConnectionStringFields {
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
