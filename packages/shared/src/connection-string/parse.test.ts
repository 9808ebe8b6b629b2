import { describe, expect, it } from 'vitest';
import { CONNECTION_STRING_FORMS as FORMS, SECRET } from '../../test/fixtures/connection-strings.js';
import { SSL_MODES } from '../schemas/ssl.schema.js';
import { ConnectionStringError } from './common.js';
import { parseConnectionString } from './parse.js';
import { toConnectionUrl } from './url.js';

const pct = encodeURIComponent(SECRET);

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
    ['mongodb+srv with a port', 'mongodb+srv://u:p@cluster.example.com:27017/db', /mongodb\+srv/],
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

  it('writes an SRV name as mongodb+srv:// without a port, and reads it back', () => {
    const url = toConnectionUrl({
      type: 'MONGODB',
      host: 'cluster0.example.net',
      port: 27017,
      databaseName: 'app',
      userName: 'app',
      sslMode: 'verify-full',
      metadata: { srv: 'true' },
    });
    expect(url).toBe('mongodb+srv://app@cluster0.example.net/app?tls=true');
    expect(parseConnectionString(url)).toMatchObject({
      host: 'cluster0.example.net',
      metadata: { srv: 'true' },
    });
  });

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
