import { describe, expect, it } from 'vitest';
import { SSL_MODES } from '../schemas/connection.schema.js';
import { ConnectionStringError, parseConnectionString } from './parse.js';
import { toConnectionUrl } from './url.js';

const SECRET = 'Pa$$w0rd;with:odd@chars';
const pct = encodeURIComponent(SECRET);

/** Every form the service reads, with the fields it must come out as. */
const FORMS: [string, string, Record<string, unknown>][] = [
  [
    'postgres:// with sslmode',
    `postgres://report:${pct}@db.example.com:5433/sales?sslmode=verify-full`,
    {
      type: 'POSTGRESQL',
      host: 'db.example.com',
      port: 5433,
      databaseName: 'sales',
      userName: 'report',
      password: SECRET,
      ssl: { mode: 'verify-full' },
    },
  ],
  [
    'postgresql:// without port, search_path in options',
    'postgresql://report@db.example.com/sales?options=-c%20search_path%3Dmarts',
    {
      type: 'POSTGRESQL',
      host: 'db.example.com',
      port: 5432,
      databaseName: 'sales',
      userName: 'report',
      schema: 'marts',
    },
  ],
  [
    'postgres:// with an IPv6 literal',
    'postgres://u:p@[2001:db8::5]:5432/db?sslmode=require',
    {
      type: 'POSTGRESQL',
      host: '2001:db8::5',
      port: 5432,
      databaseName: 'db',
      userName: 'u',
      password: 'p',
      ssl: { mode: 'require' },
    },
  ],
  [
    'jdbc:postgresql:// with user, password and currentSchema as parameters',
    `jdbc:postgresql://db.example.com:5432/sales?user=report&password=${pct}&currentSchema=marts&sslmode=disable`,
    {
      type: 'POSTGRESQL',
      host: 'db.example.com',
      port: 5432,
      databaseName: 'sales',
      userName: 'report',
      password: SECRET,
      schema: 'marts',
      ssl: { mode: 'disable' },
    },
  ],
  [
    'mysql:// with ssl-mode',
    `mysql://report:${pct}@mysql.example.com:3307/shop?ssl-mode=VERIFY_IDENTITY`,
    {
      type: 'MYSQL',
      host: 'mysql.example.com',
      port: 3307,
      databaseName: 'shop',
      userName: 'report',
      password: SECRET,
      ssl: { mode: 'verify-full' },
    },
  ],
  [
    'mariadb:// without port',
    'mariadb://report:pw@maria.example.com/shop',
    {
      type: 'MYSQL',
      host: 'maria.example.com',
      port: 3306,
      databaseName: 'shop',
      userName: 'report',
      password: 'pw',
    },
  ],
  [
    'jdbc:mysql:// with sslMode and credentials as parameters',
    `jdbc:mysql://mysql.example.com:3306/shop?user=report&password=${pct}&sslMode=REQUIRED`,
    {
      type: 'MYSQL',
      host: 'mysql.example.com',
      port: 3306,
      databaseName: 'shop',
      userName: 'report',
      password: SECRET,
      ssl: { mode: 'require' },
    },
  ],
  [
    'jdbc:mysql:// with the old useSSL',
    'jdbc:mysql://mysql.example.com/shop?user=r&password=p&useSSL=false',
    {
      type: 'MYSQL',
      host: 'mysql.example.com',
      port: 3306,
      databaseName: 'shop',
      userName: 'r',
      password: 'p',
      ssl: { mode: 'disable' },
    },
  ],
  [
    'sqlserver:// URL form',
    `sqlserver://sa:${pct}@sql.example.com:14330?database=erp&encrypt=true&TrustServerCertificate=true`,
    {
      type: 'SQL_SERVER',
      host: 'sql.example.com',
      port: 14330,
      databaseName: 'erp',
      userName: 'sa',
      password: SECRET,
      ssl: { mode: 'require' },
    },
  ],
  [
    'sqlserver:// with JDBC properties',
    'sqlserver://sql.example.com:1433;databaseName=erp;user=sa;password=p;encrypt=strict',
    {
      type: 'SQL_SERVER',
      host: 'sql.example.com',
      port: 1433,
      databaseName: 'erp',
      userName: 'sa',
      password: 'p',
      ssl: { mode: 'verify-full' },
    },
  ],
  [
    'jdbc:sqlserver:// with a braced password',
    'jdbc:sqlserver://sql.example.com:1433;databaseName=erp;user=sa;password={a;b}}c};encrypt=false',
    {
      type: 'SQL_SERVER',
      host: 'sql.example.com',
      port: 1433,
      databaseName: 'erp',
      userName: 'sa',
      password: 'a;b}c',
      ssl: { mode: 'disable' },
    },
  ],
  [
    'ADO.NET with tcp: and a port',
    'Server=tcp:sql.example.com,1433;Database=erp;User Id=sa;Password=p;Encrypt=true',
    {
      type: 'SQL_SERVER',
      host: 'sql.example.com',
      port: 1433,
      databaseName: 'erp',
      userName: 'sa',
      password: 'p',
      ssl: { mode: 'verify-full' },
    },
  ],
  [
    'ADO.NET with synonyms and a quoted password',
    `Data Source=sql.example.com;Initial Catalog=erp;UID=sa;PWD="${SECRET.replaceAll('"', '""')}";TrustServerCertificate=True;Encrypt=Mandatory`,
    {
      type: 'SQL_SERVER',
      host: 'sql.example.com',
      port: 1433,
      databaseName: 'erp',
      userName: 'sa',
      password: SECRET,
      ssl: { mode: 'require' },
    },
  ],
  [
    'ADO.NET with a named instance and its port',
    "Server=sql.example.com\\REPORTS,1544;Database=erp;User Id=sa;Password='it''s'",
    {
      type: 'SQL_SERVER',
      host: 'sql.example.com',
      port: 1544,
      databaseName: 'erp',
      userName: 'sa',
      password: "it's",
    },
  ],
  [
    'jdbc:oracle:thin:@// with credentials',
    'jdbc:oracle:thin:scott/tiger@//ora.example.com:1522/FREEPDB1',
    {
      type: 'ORACLE',
      host: 'ora.example.com',
      port: 1522,
      databaseName: 'FREEPDB1',
      userName: 'scott',
      password: 'tiger',
    },
  ],
  [
    'jdbc:oracle:thin:@// without credentials',
    'jdbc:oracle:thin:@//ora.example.com/ORCLPDB.example.com',
    { type: 'ORACLE', host: 'ora.example.com', port: 1521, databaseName: 'ORCLPDB.example.com' },
  ],
  [
    'Oracle Easy Connect',
    'ora.example.com:1521/FREEPDB1',
    { type: 'ORACLE', host: 'ora.example.com', port: 1521, databaseName: 'FREEPDB1' },
  ],
  [
    'Oracle Easy Connect over TCPS with a server type',
    'tcps://ora.example.com:2484/sales.example.com:dedicated',
    {
      type: 'ORACLE',
      host: 'ora.example.com',
      port: 2484,
      databaseName: 'sales.example.com',
      ssl: { mode: 'require' },
    },
  ],
  [
    'oracle:// (the canonical form)',
    'oracle://scott:tiger@ora.example.com:1521/FREEPDB1?sslmode=verify-ca',
    {
      type: 'ORACLE',
      host: 'ora.example.com',
      port: 1521,
      databaseName: 'FREEPDB1',
      userName: 'scott',
      password: 'tiger',
      ssl: { mode: 'verify-ca' },
    },
  ],
  [
    'mongodb:// with authSource and tls',
    `mongodb://app:${pct}@mongo.example.com:27018/app?authSource=admin&tls=true`,
    {
      type: 'MONGODB',
      host: 'mongo.example.com',
      port: 27018,
      databaseName: 'app',
      userName: 'app',
      password: SECRET,
      ssl: { mode: 'verify-full' },
      metadata: { authSource: 'admin' },
    },
  ],
  [
    'mongodb:// with tlsInsecure',
    'mongodb://app:pw@mongo.example.com/app?tls=true&tlsInsecure=true',
    {
      type: 'MONGODB',
      host: 'mongo.example.com',
      port: 27017,
      databaseName: 'app',
      userName: 'app',
      password: 'pw',
      ssl: { mode: 'require' },
    },
  ],
];

describe('parseConnectionString', () => {
  it.each(FORMS)('reads %s', (_name, input, expected) => {
    expect(parseConnectionString(input)).toEqual(expected);
  });

  const MALFORMED: [string, string, RegExp][] = [
    ['empty', '   ', /empty/],
    ['an unknown scheme', 'redis://u:p@h:6379/0', /redis:\/\//],
    ['not a connection string at all', 'hello world', /not a form/],
    ['a port out of range', `postgres://u:${pct}@h:70000/db`, /valid postgres|port/],
    ['a port that is not a number', 'Server=tcp:h,abc;Database=d;User Id=u;Password=p', /port/],
    [
      'a libpq file parameter',
      `postgresql://u:${pct}@h/db?sslrootcert=/etc/ssl/private/key.pem`,
      /names a file/,
    ],
    ['a host given as a parameter', 'postgresql://u:p@h/db?host=other', /host/],
    ['several MongoDB hosts', 'mongodb://u:p@a:27017,b:27017/db', /several hosts/],
    ['mongodb+srv', 'mongodb+srv://u:p@cluster.example.com/db', /mongodb\+srv/],
    ['an unknown sslmode', 'postgres://u:p@h/db?sslmode=maybe', /not an SSL mode/],
    ['Windows authentication', 'Server=h;Database=d;Integrated Security=SSPI', /integrated/],
    ['an instance without a port', 'Server=h\\INST;Database=d;User Id=u;Password=p', /instance/],
    ['an unterminated quote', 'Server=h;Password="abc', /unterminated/],
    ['the Oracle SID form', 'jdbc:oracle:thin:@ora.example.com:1521:ORCL', /SID/],
    ['an Oracle TNS descriptor', 'jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(HOST=h)))', /descriptor/],
    ['named pipes', 'Server=np:\\\\h\\pipe\\sql\\query;Database=d', /not TCP/],
  ];

  it.each(MALFORMED)('refuses %s with a message that names the problem', (_name, input, message) => {
    let error: unknown;
    try {
      parseConnectionString(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConnectionStringError);
    expect((error as Error).message).toMatch(message);
  });

  it('never quotes the password in a refusal, whatever the form', () => {
    const broken = [
      `postgres://u:${pct}@h:99999/db`,
      `mysql://u:${pct}@h:x/db`,
      `sqlserver://u:${pct}@h:1433/INST?encrypt=perhaps`,
      `Server=h;Password=${SECRET.replaceAll(';', '')};Encrypt=perhaps`,
      `mongodb://u:${pct}@h:1,h:2/db`,
      `postgresql://u:${pct}@h/db?sslmode=${pct}`,
    ];
    for (const input of broken) {
      expect(() => parseConnectionString(input)).toThrow(ConnectionStringError);
      try {
        parseConnectionString(input);
      } catch (error) {
        const message = (error as Error).message;
        expect(message).not.toContain(SECRET);
        expect(message).not.toContain(pct);
        expect(message).not.toContain(SECRET.replaceAll(';', ''));
      }
    }
  });
});

describe('toConnectionUrl', () => {
  const engines = [
    { type: 'POSTGRESQL', databaseName: 'sales', schema: 'marts' },
    { type: 'MYSQL', databaseName: 'shop' },
    { type: 'SQL_SERVER', databaseName: 'erp', schema: 'dbo' },
    { type: 'ORACLE', databaseName: 'FREEPDB1', schema: 'REPORTER' },
    { type: 'MONGODB', databaseName: 'app', metadata: { authSource: 'admin' } },
  ] as const;

  it.each(engines.flatMap((engine) => [undefined, ...SSL_MODES].map((sslMode) => ({ ...engine, sslMode }))))(
    'is read back to the same fields: $type with ssl $sslMode',
    (engine) => {
      const fields = {
        ...engine,
        host: 'db.example.com',
        port: 4321,
        userName: 'report user',
      };
      const url = toConnectionUrl(fields);
      const parsed = parseConnectionString(url);
      expect(parsed).toEqual({
        type: fields.type,
        host: 'db.example.com',
        port: 4321,
        databaseName: fields.databaseName,
        userName: 'report user',
        ...('schema' in fields && fields.schema ? { schema: fields.schema } : {}),
        ...(fields.sslMode ? { ssl: { mode: fields.sslMode } } : {}),
        ...('metadata' in fields ? { metadata: fields.metadata } : {}),
      });
      expect(url).not.toMatch(/password/i);
    },
  );

  it('puts an IPv6 host in brackets', () => {
    expect(
      toConnectionUrl({
        type: 'POSTGRESQL',
        host: '2001:db8::5',
        port: 5432,
        databaseName: 'd',
        userName: 'u',
      }),
    ).toBe('postgresql://u@[2001:db8::5]:5432/d');
  });
});
