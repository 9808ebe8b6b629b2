import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { TEST_CA_PEM, TEST_CLIENT_CERT_PEM, TEST_CLIENT_KEY_PEM } from '../../test/fixtures/pem.js';
import {
  CreateConnectionInputSchema,
  IdSchema,
  TestSettingsInputSchema,
  UpdateConnectionInputSchema,
} from './connection.schema.js';
import { ValidateSchemaInputSchema } from './discovery.schema.js';
import { ListConnectionsQuerySchema } from './list.schema.js';
import { MetadataSchema } from './metadata.schema.js';
import { SSL_MODE_ALIASES, SSL_MODES } from './ssl.schema.js';
import { isValidHost } from './text-rules.js';
import { toFieldErrors } from './validation.js';

const valid = {
  configName: 'production-db',
  type: 'POSTGRESQL',
  host: 'db.example.com',
  port: 5432,
  databaseName: 'mydatabase',
  userName: 'dbuser',
  password: 'secretpassword',
};

const fieldsOf = (input: unknown) => {
  const result = CreateConnectionInputSchema.safeParse(input);
  return result.success
    ? []
    : toFieldErrors(result.error.issues)
        .map((e) => e.field)
        .sort();
};

describe('create input schema', () => {
  it('accepts the seed body', () => {
    expect(CreateConnectionInputSchema.parse(valid)).toMatchObject(valid);
  });

  it('names unknown keys, nested metadata and ssl fields by their path', () => {
    expect(fieldsOf({ ...valid, extra: 1 })).toEqual(['extra']);
    expect(fieldsOf({ ...valid, metadata: { a: { b: 'c' } } })).toEqual(['metadata.a']);
    expect(fieldsOf({ ...valid, ssl: { mode: 'require', cert: TEST_CLIENT_CERT_PEM } })).toEqual(['ssl.key']);
  });

  it('parses PEM material at input: what does not parse is named, with why', () => {
    const ssl = {
      mode: 'verify-full',
      ca: TEST_CA_PEM,
      cert: TEST_CLIENT_CERT_PEM,
      key: TEST_CLIENT_KEY_PEM,
    };
    expect(fieldsOf({ ...valid, ssl })).toEqual([]);
    // A bundle of several certificates is a valid ssl.ca.
    expect(fieldsOf({ ...valid, ssl: { ...ssl, ca: `${TEST_CA_PEM}${TEST_CLIENT_CERT_PEM}` } })).toEqual([]);
    const truncated = '-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEbV...\n-----END CERTIFICATE-----\n';
    expect(
      fieldsOf({ ...valid, ssl: { mode: 'require', ca: truncated, cert: truncated, key: TEST_CA_PEM } }),
    ).toEqual(['ssl.ca', 'ssl.cert', 'ssl.key']);
    expect(
      messageOf(CreateConnectionInputSchema, { ...valid, ssl: { mode: 'require', ca: truncated } }, 'ssl.ca'),
    ).toEqual(['ssl.ca holds a certificate that does not parse (damaged or truncated PEM)']);
    expect(
      messageOf(
        CreateConnectionInputSchema,
        { ...valid, ssl: { mode: 'require', ca: TEST_CLIENT_KEY_PEM } },
        'ssl.ca',
      ),
    ).toEqual(['ssl.ca must hold certificates only (found PRIVATE KEY)']);
    expect(
      messageOf(
        CreateConnectionInputSchema,
        { ...valid, ssl: { mode: 'require', cert: TEST_CLIENT_CERT_PEM, key: TEST_CLIENT_CERT_PEM } },
        'ssl.key',
      ),
    ).toEqual(['ssl.key must be a PEM private key that parses (damaged or truncated PEM)']);
    expect(fieldsOf({ ...valid, ssl: { mode: 'require', ca: 'not pem' } })).toEqual(['ssl.ca']);
  });

  it('maps every SSL alias onto one of the five modes', () => {
    for (const [alias, mode] of Object.entries(SSL_MODE_ALIASES)) {
      expect(SSL_MODES).toContain(mode);
      const parsed = CreateConnectionInputSchema.parse({ ...valid, ssl: { mode: alias.toUpperCase() } });
      expect(parsed.ssl?.mode).toBe(mode);
    }
  });
});

describe('host rule', () => {
  it.each(['db', 'db.example.com', 'db.example.com.', '10.1.2.3', '::1', 'fe80::1', 'x-1.y'])(
    'accepts %s',
    (host) => {
      expect(isValidHost(host)).toBe(true);
    },
  );
  it.each([
    '',
    'http://db',
    'db:5432',
    'db/x',
    'db_1',
    '-db',
    'db-',
    'a..b',
    `${'a'.repeat(64)}.com`,
    '1.2.3.999',
    '[::1]',
  ])('rejects %s', (host) => {
    expect(isValidHost(host)).toBe(false);
  });
  it('rejects names over 253 characters', () => {
    expect(isValidHost(`${'a'.repeat(60)}.`.repeat(5))).toBe(false);
  });
});

describe('list query schema', () => {
  it('has defaults and coerces query-string integers only when whole', () => {
    expect(ListConnectionsQuerySchema.parse({})).toMatchObject({ page: 1, limit: 10, sortOrder: 'desc' });
    expect(ListConnectionsQuerySchema.parse({ page: '3', limit: 100 })).toMatchObject({
      page: 3,
      limit: 100,
    });
    expect(ListConnectionsQuerySchema.safeParse({ page: '3.5' }).success).toBe(false);
    expect(ListConnectionsQuerySchema.safeParse({ limit: '' }).success).toBe(false);
  });
});

/** docs/contract.md §4: every violation names each bad field and why, all at once — whatever else is wrong. */

const ID = '01890000-0000-7000-8000-000000000000';

type Schema = { safeParse: (input: unknown) => { success: boolean; error?: { issues: unknown[] } } };

const errorsOf = (schema: Schema, input: unknown) => {
  const result = schema.safeParse(input);
  return result.success ? [] : toFieldErrors(result.error?.issues as Parameters<typeof toFieldErrors>[0]);
};
const fieldsIn = (schema: Schema, input: unknown) =>
  [...new Set(errorsOf(schema, input).map((e) => e.field))].sort();
const messageOf = (schema: Schema, input: unknown, field: string) =>
  errorsOf(schema, input)
    .filter((e) => e.field === field)
    .map((e) => e.message);

describe('metadata: each rule has its own message, naming the key', () => {
  const long = 'k'.repeat(101);

  it('a key over 100 characters is named and measured', () => {
    const body = { ...valid, metadata: { [long]: 'v' } };
    expect(fieldsIn(CreateConnectionInputSchema, body)).toEqual([`metadata.${long}`]);
    expect(messageOf(CreateConnectionInputSchema, body, `metadata.${long}`)).toEqual([
      'metadata keys must be 1–100 characters (got 101)',
    ]);
  });

  it('an empty key is reported on metadata, not on a field named "metadata."', () => {
    const body = { ...valid, metadata: { '': 'v' } };
    expect(fieldsIn(CreateConnectionInputSchema, body)).toEqual(['metadata']);
    expect(messageOf(CreateConnectionInputSchema, body, 'metadata')).toEqual([
      'metadata keys must be 1–100 characters (got an empty key)',
    ]);
  });

  it('a value over 2000 characters names its key', () => {
    const body = { ...valid, metadata: { team: 'v'.repeat(2001) } };
    expect(messageOf(CreateConnectionInputSchema, body, 'metadata.team')).toEqual([
      'metadata values must be at most 2000 characters (got 2001)',
    ]);
  });

  it('nested objects, arrays, numbers and null name their key', () => {
    const body = { ...valid, metadata: { obj: { a: 'b' }, list: ['a'], n: 1, nil: null, ok: 'fine' } };
    expect(fieldsIn(CreateConnectionInputSchema, body)).toEqual([
      'metadata.list',
      'metadata.n',
      'metadata.nil',
      'metadata.obj',
    ]);
    for (const field of ['metadata.obj', 'metadata.list', 'metadata.n', 'metadata.nil']) {
      expect(messageOf(CreateConnectionInputSchema, body, field)).toEqual([
        expect.stringMatching(/^metadata values must be strings/),
      ]);
    }
  });

  it('more than 50 keys is reported on metadata with the count', () => {
    const fiftyOne = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    expect(messageOf(CreateConnectionInputSchema, { ...valid, metadata: fiftyOne }, 'metadata')).toEqual([
      'metadata must have at most 50 keys (got 51)',
    ]);
  });

  it('a non-object is still "an object of string values"', () => {
    for (const metadata of ['team=x', ['a'], 5, null]) {
      expect(messageOf(CreateConnectionInputSchema, { ...valid, metadata }, 'metadata')).toEqual([
        'metadata must be an object of string values',
      ]);
    }
  });

  it('every metadata problem is reported together, with the rest of the body', () => {
    const metadata: Record<string, unknown> = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']),
    );
    Object.assign(metadata, { [long]: 'v', '': 'v', big: 'v'.repeat(2001), nested: { a: 'b' } });
    const body = { ...valid, port: 'x', metadata };
    expect(fieldsIn(CreateConnectionInputSchema, body)).toEqual(
      ['metadata', `metadata.${long}`, 'metadata.big', 'metadata.nested', 'port'].sort(),
    );
    expect(messageOf(CreateConnectionInputSchema, body, 'metadata').sort()).toEqual([
      'metadata keys must be 1–100 characters (got an empty key)',
      'metadata must have at most 50 keys (got 54)',
    ]);
    expect(fieldsIn(UpdateConnectionInputSchema, body)).toEqual(fieldsIn(CreateConnectionInputSchema, body));
  });

  it('a long key with a bad value gets both reasons', () => {
    expect(messageOf(MetadataSchema, { [long]: { a: 'b' } }, long).sort()).toEqual([
      'metadata keys must be 1–100 characters (got 101)',
      expect.stringMatching(/^metadata values must be strings/),
    ]);
  });

  it('the boundaries are accepted and the output is typed as given', () => {
    const fifty = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v']));
    const metadata = { ...fifty, ['k'.repeat(100)]: 'v'.repeat(2000) };
    expect(MetadataSchema.parse(metadata)).toEqual(metadata);
    expect(MetadataSchema.parse({ a: '' })).toEqual({ a: '' });
  });
});

describe('a type error in one field does not hide the others', () => {
  const missing = ['type', 'host', 'databaseName', 'userName', 'password'];

  it('create {"port": "x"} names every required field and port', () => {
    expect(fieldsIn(CreateConnectionInputSchema, { port: 'x' })).toEqual(
      ['configName', 'type', 'host', 'port', 'databaseName', 'userName', 'password'].sort(),
    );
  });

  it('try-before-save {"port": "x"} without id names port and every missing dialled field', () => {
    const errors = errorsOf(TestSettingsInputSchema, { port: 'x' });
    expect([...new Set(errors.map((e) => e.field))].sort()).toEqual(['port', ...missing].sort());
    expect(errors.filter((e) => e.field === 'port')).toEqual([
      { field: 'port', message: 'port must be an integer' },
    ]);
    for (const field of missing) {
      expect(errors.filter((e) => e.field === field)).toEqual([
        { field, message: `${field} is required (or give the id of a stored connection)` },
      ]);
    }
  });

  it('try-before-save: other type errors, unknown fields and bad ssl/metadata still leave the required check on', () => {
    expect(fieldsIn(TestSettingsInputSchema, { host: 5, extra: 1, metadata: { a: {} } })).toEqual(
      ['host', 'extra', 'metadata.a', 'type', 'port', 'databaseName', 'userName', 'password'].sort(),
    );
    expect(fieldsIn(TestSettingsInputSchema, { ssl: { mode: 5 } })).toEqual(
      ['ssl.mode', 'type', 'host', 'port', 'databaseName', 'userName', 'password'].sort(),
    );
  });

  it('try-before-save: a field that is present but bad gets its own message, not "required" too', () => {
    const body = { ...valid, host: '', type: '', password: '' };
    expect(messageOf(TestSettingsInputSchema, body, 'host')).toContain('host must not be empty');
    expect(messageOf(TestSettingsInputSchema, body, 'type')).toEqual([
      expect.stringMatching(/^type must be one of/),
    ]);
    for (const field of ['host', 'type']) {
      expect(messageOf(TestSettingsInputSchema, body, field).join()).not.toMatch(/required/);
    }
    expect(messageOf(TestSettingsInputSchema, body, 'password')).toEqual([
      'password is required (or give the id of a stored connection)',
    ]);
  });

  it('try-before-save keeps its semantics: with an id only the given fields are checked', () => {
    expect(fieldsIn(TestSettingsInputSchema, { id: ID, port: 'x' })).toEqual(['port']);
    expect(TestSettingsInputSchema.safeParse({ id: ID }).success).toBe(true);
    expect(TestSettingsInputSchema.safeParse({ id: ID, password: 'new' }).success).toBe(true);
    expect(TestSettingsInputSchema.safeParse(valid).success).toBe(true);
    expect(fieldsIn(TestSettingsInputSchema, { id: 'nope' })).toEqual(['id']);
  });

  it('try-before-save: a non-object body is one error on the body, never a throw', () => {
    for (const body of [null, [1], 'x', 5, undefined]) {
      expect(fieldsIn(TestSettingsInputSchema, body)).toEqual(['(body)']);
    }
  });

  it('ssl: a bad mode does not hide a cert without its key; a missing mode says required', () => {
    const cert = TEST_CLIENT_CERT_PEM;
    expect(fieldsIn(CreateConnectionInputSchema, { ...valid, ssl: { mode: 5, cert } })).toEqual([
      'ssl.key',
      'ssl.mode',
    ]);
    expect(messageOf(CreateConnectionInputSchema, { ...valid, ssl: { cert } }, 'ssl.mode')).toEqual([
      'ssl.mode is required',
    ]);
    expect(fieldsIn(UpdateConnectionInputSchema, { ssl: { mode: 5, cert } })).toEqual([
      'ssl.key',
      'ssl.mode',
    ]);
  });

  it('update: a non-string password says why', () => {
    expect(errorsOf(UpdateConnectionInputSchema, { password: 5, port: 'x' })).toEqual([
      { field: 'port', message: 'port must be an integer' },
      { field: 'password', message: 'password must be a string' },
    ]);
    expect(UpdateConnectionInputSchema.safeParse({ password: '' }).success).toBe(true);
  });
});

describe('list and validate-schema checks run whatever else is wrong', () => {
  it('names a bad limit and endDate before startDate together', () => {
    const result = ListConnectionsQuerySchema.safeParse({
      limit: 'abc',
      startDate: '2026-02-01',
      endDate: '2026-01-01',
    });
    expect(result.success).toBe(false);
    expect(toFieldErrors(result.error?.issues ?? []).map((e) => e.field)).toEqual(['limit', 'endDate']);
  });

  it('names an empty field name and too many connections together', () => {
    const mappedFields = Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`conn-${i}`, { orders: i === 0 ? [''] : ['id'] }]),
    );
    const result = ValidateSchemaInputSchema.safeParse({ mappedFields });
    expect(result.success).toBe(false);
    const errors = toFieldErrors(result.error?.issues ?? []);
    expect(errors).toContainEqual({ field: 'mappedFields', message: 'at most 10 connections per request' });
    expect(errors.map((e) => e.field)).toContain('mappedFields.conn-0.orders.0');
  });
});

describe('ids', () => {
  const lower = '0189abcd-ef01-7000-8000-00000000000a';

  it('are lower-cased, so one connection has one spelling (rate-limit keys, job data, channels)', () => {
    expect(IdSchema.parse(lower.toUpperCase())).toBe(lower);
    expect(IdSchema.parse('0189ABcd-eF01-7000-8000-00000000000A')).toBe(lower);
    expect(IdSchema.parse(lower)).toBe(lower);
    expect(TestSettingsInputSchema.parse({ id: lower.toUpperCase() }).id).toBe(lower);
    // still checked as a UUID, with its own message
    const result = IdSchema.safeParse('NOT-A-UUID');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('id must be a UUID');
  });
});

describe('NUL, lone surrogates and look-alike characters (issue 10, item 4)', () => {
  const NUL = '\u0000';
  const LONE = '\ud800';
  const errorsOf = (schema: z.ZodType, v: unknown) => toFieldErrors(schema.safeParse(v).error?.issues ?? []);

  it('every text field of create refuses NUL and a lone surrogate, naming the field', () => {
    for (const bad of [NUL, LONE, `x${LONE}yz`, `abc${NUL}`]) {
      const input = {
        ...valid,
        configName: `name-${bad}`,
        databaseName: `db${bad}`,
        userName: `u${bad}`,
        password: `p${bad}`,
        schema: `s${bad}`,
        ssl: { mode: 'verify-ca', ca: `-----BEGIN CERTIFICATE-----${bad}` },
        metadata: { team: `t${bad}` },
      };
      // NUL is also a control character: some fields give both reasons
      expect([...new Set(fieldsOf(input))]).toEqual(
        ['configName', 'databaseName', 'metadata.team', 'password', 'schema', 'ssl.ca', 'userName'].sort(),
      );
    }
  });

  it('a lone surrogate in configName is refused, not replaced; a well-formed pair is accepted', () => {
    expect(fieldsOf({ ...valid, configName: `prod-${LONE}` })).toEqual(['configName']);
    expect(fieldsOf({ ...valid, configName: `prod-\udc00\ud800` })).toEqual(['configName']);
    expect(CreateConnectionInputSchema.parse({ ...valid, configName: 'prod-💥' }).configName).toBe('prod-💥');
  });

  it('a bad metadata key is reported on metadata without echoing it', () => {
    for (const key of [`k${NUL}`, LONE, 'a\u200bb']) {
      const errors = errorsOf(MetadataSchema, { [key]: 'v', fine: 'ok' });
      expect(errors.map((e) => e.field)).toEqual(['(body)']);
      expect(errors[0]?.message).toMatch(/metadata keys must/);
    }
  });

  it('configName, databaseName, userName and metadata refuse format and separator characters', () => {
    for (const bad of ['\u202e', '\u200b', '\ufeff', '\u2028', '\u2029', '\u00ad']) {
      expect(
        fieldsOf({
          ...valid,
          configName: `name${bad}x`,
          databaseName: `${bad}db`,
          userName: `u${bad}`,
          metadata: { team: `a${bad}` },
        }),
      ).toEqual(['configName', 'databaseName', 'metadata.team', 'userName']);
    }
    // at either end too: refused before trimming, never cut off silently
    expect(fieldsOf({ ...valid, configName: '\u2028prod-db' })).toEqual(['configName']);
    // the password and schema keep any printable character
    expect(fieldsOf({ ...valid, password: 'p\u200bw', schema: 's\u202e' })).toEqual([]);
  });

  it('list filters and validate-schema names refuse NUL and lone surrogates', () => {
    for (const bad of [NUL, LONE]) {
      expect(
        errorsOf(ListConnectionsQuerySchema, { metadata: { team: `x${bad}` } }).map((e) => e.field),
      ).toEqual(['metadata.team']);
      expect(
        errorsOf(ListConnectionsQuerySchema, { metadata: { [`k${bad}`]: 'x' } }).map((e) => e.field),
      ).toEqual(['metadata']);
      const names = errorsOf(ValidateSchemaInputSchema, { mappedFields: { [`c${bad}`]: { t: ['f'] } } });
      expect(names.map((e) => e.field)).toEqual(['mappedFields']);
      const tables = errorsOf(ValidateSchemaInputSchema, { mappedFields: { conn: { [`t${bad}`]: ['f'] } } });
      expect(tables.map((e) => e.field)).toEqual(['mappedFields.conn']);
      const fields = errorsOf(ValidateSchemaInputSchema, { mappedFields: { conn: { t: [`f${bad}`] } } });
      expect(fields.map((e) => e.field)).toEqual(['mappedFields.conn.t.0']);
    }
  });
});
