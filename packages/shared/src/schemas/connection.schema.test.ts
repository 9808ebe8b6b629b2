import { describe, expect, it } from 'vitest';
import {
  CreateConnectionInputSchema,
  isValidHost,
  ListConnectionsQuerySchema,
  SSL_MODE_ALIASES,
  SSL_MODES,
} from './connection.schema.js';
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
    expect(fieldsOf({ ...valid, ssl: { mode: 'require', cert: '-----BEGIN CERTIFICATE-----' } })).toEqual([
      'ssl.key',
    ]);
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
