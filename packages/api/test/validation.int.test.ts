import { TEST_CLIENT_CERT_PEM } from '@dbconn/shared/test-fixtures/pem';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../examples/typed-client.js';
import { createSeed, type Harness, http, seedBody, startApi } from './harness.js';

const PATH = '/v1/management/connections';

describe('create validation (docs/contract.md §4): every rule at its boundaries, nothing stored on a 400', () => {
  let h: Harness;
  let seq = 0;
  const unique = () => `cfg-${++seq}-${Date.now()}`;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  const count = async () => (await h.rawRows()).length;

  /** Posts a body; expects 400 naming exactly `fields` (in any order) and no new row. */
  async function expectRejected(
    overrides: Record<string, unknown>,
    fields: string[],
    options: { product?: string; drop?: string[]; code?: string } = {},
  ) {
    const before = await count();
    const body: Record<string, unknown> = { ...seedBody(), configName: unique(), ...overrides };
    for (const key of options.drop ?? []) delete body[key];
    const headers: Record<string, string> = {};
    if (options.product !== undefined) headers['x-product-name'] = options.product;
    else headers['x-product-name'] = 'p';
    const res = await http(h, 'POST', PATH, { body, headers });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe(options.code ?? 'VALIDATION_FAILED');
    expect(res.body.status).toBe(400);
    expect(res.body.type).toMatch(/^urn:dbconn:error:/);
    const named = [...new Set(res.body.errors.map((e: { field: string }) => e.field))].sort();
    expect(named).toEqual([...fields].sort());
    for (const e of res.body.errors) expect(e.message).toEqual(expect.any(String));
    expect(await count()).toBe(before);
    return res;
  }

  async function expectAccepted(overrides: Record<string, unknown>, product = 'p') {
    const res = await createSeed(h, { configName: unique(), ...overrides }, product);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  it('configName: 2 and 101 characters are rejected, 3 and 100 accepted', async () => {
    await expectRejected({ configName: 'ab' }, ['configName']);
    await expectRejected({ configName: 'a'.repeat(101) }, ['configName']);
    expect((await expectAccepted({ configName: 'abc' })).configName).toBe('abc');
    expect((await expectAccepted({ configName: 'b'.repeat(100) })).configName).toBe('b'.repeat(100));
  });

  it('configName is trimmed before counting and must not hold control characters', async () => {
    await expectRejected({ configName: '  ab  ' }, ['configName']);
    expect((await expectAccepted({ configName: '  trimmed-name  ' })).configName).toBe('trimmed-name');
    await expectRejected({ configName: 'bad\u0007name' }, ['configName']);
  });

  it('port: 0, 65536, "5432" and 5432.5 are rejected; 1 and 65535 accepted', async () => {
    for (const port of [0, 65536, '5432', 5432.5, -1, null, true]) {
      await expectRejected({ port }, ['port']);
    }
    expect((await expectAccepted({ port: 1 })).port).toBe(1);
    expect((await expectAccepted({ port: 65535 })).port).toBe(65535);
  });

  it('X-Product-Name: 100 characters accepted and lower-cased; 101 and "bad name" rejected', async () => {
    const hundred = `A${'b'.repeat(99)}`;
    expect((await expectAccepted({}, hundred)).productName).toBe(hundred.toLowerCase());
    await expectRejected({}, ['X-Product-Name'], { product: 'c'.repeat(101), code: 'INVALID_HEADER' });
    await expectRejected({}, ['X-Product-Name'], { product: 'bad name', code: 'INVALID_HEADER' });
    await expectRejected({}, ['X-Product-Name'], { product: 'bad/name', code: 'INVALID_HEADER' });
  });

  it('X-Product-Name is required on create', async () => {
    const before = await count();
    const res = await http(h, 'POST', PATH, { body: { ...seedBody(), configName: unique() } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_HEADER');
    expect(res.body.errors).toEqual([
      { field: 'X-Product-Name', message: expect.stringContaining('required') },
    ]);
    expect(await count()).toBe(before);
  });

  it('a bad header and a bad body are reported together', async () => {
    await expectRejected({ port: 'x' }, ['X-Product-Name', 'port'], { product: 'bad name' });
  });

  it('metadata: nested values, 101-character keys, 2001-character values are rejected', async () => {
    await expectRejected({ metadata: { team: { nested: 'x' } } }, ['metadata.team']);
    await expectRejected({ metadata: { list: ['a'] } }, ['metadata.list']);
    await expectRejected({ metadata: { n: 1 } }, ['metadata.n']);
    await expectRejected({ metadata: { ['k'.repeat(101)]: 'v' } }, [`metadata.${'k'.repeat(101)}`]);
    await expectRejected({ metadata: { team: 'v'.repeat(2001) } }, ['metadata.team']);
    await expectRejected({ metadata: 'team=x' }, ['metadata']);
    const fiftyOne = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    await expectRejected({ metadata: fiftyOne }, ['metadata']);
  });

  it('metadata: each bad key, bad value and the key count get their own message, all at once', async () => {
    const long = 'k'.repeat(101);
    const messages = async (metadata: Record<string, unknown>, fields: string[]) => {
      const res = await expectRejected({ metadata }, fields);
      return res.body.errors as { field: string; message: string }[];
    };
    expect(await messages({ [long]: 'v' }, [`metadata.${long}`])).toEqual([
      { field: `metadata.${long}`, message: 'metadata keys must be 1–100 characters (got 101)' },
    ]);
    expect(await messages({ '': 'v' }, ['metadata'])).toEqual([
      { field: 'metadata', message: 'metadata keys must be 1–100 characters (got an empty key)' },
    ]);
    expect(await messages({ team: 'v'.repeat(2001) }, ['metadata.team'])).toEqual([
      { field: 'metadata.team', message: 'metadata values must be at most 2000 characters (got 2001)' },
    ]);
    expect(await messages({ team: { nested: 'x' } }, ['metadata.team'])).toEqual([
      { field: 'metadata.team', message: expect.stringMatching(/^metadata values must be strings/) },
    ]);
    const many: Record<string, unknown> = Object.fromEntries(
      Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']),
    );
    Object.assign(many, { [long]: 'v', list: ['a'] });
    const all = await messages(many, ['metadata', `metadata.${long}`, 'metadata.list']);
    expect(all).toContainEqual({ field: 'metadata', message: 'metadata must have at most 50 keys (got 53)' });
    expect(all).toContainEqual({
      field: `metadata.${long}`,
      message: 'metadata keys must be 1–100 characters (got 101)',
    });
  });

  it('a type error in one field does not hide the missing ones', async () => {
    const res = await expectRejected(
      { port: 'x' },
      ['configName', 'type', 'host', 'port', 'databaseName', 'userName', 'password'],
      { drop: Object.keys(seedBody()).filter((key) => key !== 'port') },
    );
    expect(res.body.errors).toContainEqual({ field: 'port', message: 'port must be an integer' });
  });

  it('metadata: 100-character keys, 2000-character values and 50 keys are accepted', async () => {
    const key = 'k'.repeat(100);
    const body = await expectAccepted({ metadata: { [key]: 'v'.repeat(2000) } });
    expect(body.metadata[key]).toHaveLength(2000);
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    expect(Object.keys((await expectAccepted({ metadata: fifty })).metadata)).toHaveLength(50);
  });

  it.each(['configName', 'type', 'host', 'port', 'databaseName', 'userName', 'password'])(
    'a missing %s is named',
    async (field) => {
      const res = await expectRejected({}, [field], { drop: [field] });
      expect(res.body.errors[0].message).toMatch(/required/);
    },
  );

  it('all missing fields are named at once', async () => {
    const before = await count();
    const res = await http(h, 'POST', PATH, { body: {}, headers: { 'x-product-name': 'p' } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(
      ['configName', 'databaseName', 'host', 'password', 'port', 'type', 'userName'].sort(),
    );
    expect(await count()).toBe(before);
  });

  it('type: accepted in any case; an unknown engine is rejected', async () => {
    expect((await expectAccepted({ type: 'mySql' })).type).toBe('MYSQL');
    expect((await expectAccepted({ type: 'sql_server' })).type).toBe('SQL_SERVER');
    await expectRejected({ type: 'SQLITE' }, ['type']);
    await expectRejected({ type: 5 }, ['type']);
  });

  it('host: names and IP literals accepted; scheme, port, path, spaces and bad labels rejected', async () => {
    for (const host of ['db.example.com', 'localhost', '10.0.0.5', '2001:db8::1', 'a-b.c-d.example']) {
      expect((await expectAccepted({ host })).host).toBe(host);
    }
    for (const host of [
      'postgres://db',
      'db.example.com:5432',
      'db/path',
      'db example',
      '-db.example.com',
      'a'.repeat(64),
      '',
      '300.1.1.1',
    ]) {
      await expectRejected({ host }, ['host']);
    }
  });

  it('databaseName and userName: 1–128 after trimming', async () => {
    await expectRejected({ databaseName: '   ' }, ['databaseName']);
    await expectRejected({ userName: 'u'.repeat(129) }, ['userName']);
    const body = await expectAccepted({ databaseName: 'd'.repeat(128), userName: ' u ' });
    expect(body.userName).toBe('u');
  });

  it('password: 1–1024, never echoed', async () => {
    await expectRejected({ password: '' }, ['password']);
    await expectRejected({ password: 'p'.repeat(1025) }, ['password']);
    const body = await expectAccepted({ password: 'p'.repeat(1024) });
    expect(JSON.stringify(body)).not.toContain('p'.repeat(1024));
  });

  it('schema: optional, 1–128', async () => {
    await expectRejected({ schema: '' }, ['schema']);
    await expectRejected({ schema: 's'.repeat(129) }, ['schema']);
    expect((await expectAccepted({ schema: 'analytics' })).schema).toBe('analytics');
  });

  it('ssl: modes and engine aliases are normalised; cert needs key; PEM text only; ≤64 KiB', async () => {
    expect((await expectAccepted({ ssl: { mode: 'VERIFY-FULL' } })).ssl).toEqual({ mode: 'verify-full' });
    expect((await expectAccepted({ ssl: { mode: 'skip-verify' } })).ssl).toEqual({ mode: 'require' });
    expect((await expectAccepted({ ssl: { mode: 'preferred' } })).ssl).toEqual({ mode: 'prefer' });
    await expectRejected({ ssl: { mode: 'sometimes' } }, ['ssl.mode']);
    await expectRejected({ ssl: { mode: 'require', cert: TEST_CLIENT_CERT_PEM } }, ['ssl.key']);
    await expectRejected(
      { ssl: { mode: 'require', ca: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----' } },
      ['ssl.ca'],
    );
    await expectRejected({ ssl: { mode: 'require', ca: 'not pem' } }, ['ssl.ca']);
    await expectRejected(
      { ssl: { mode: 'require', ca: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(65 * 1024)}` } },
      ['ssl.ca'],
    );
    await expectRejected({ ssl: { mode: 'require', extra: 1 } }, ['ssl.extra']);
    await expectRejected({ ssl: 'require' }, ['ssl']);
  });

  it('unknown fields are rejected by name', async () => {
    await expectRejected({ pasword: 'x', color: 'red' }, ['pasword', 'color']);
  });

  it('several bad fields are all named in one answer', async () => {
    await expectRejected({ configName: 'ab', port: 0, host: 'http://x', metadata: { a: {} } }, [
      'configName',
      'port',
      'host',
      'metadata.a',
    ]);
  });
});

describe('try before save (POST /test, connections.testSettings): every bad field at once', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  const ID = '01890000-0000-7000-8000-000000000000';
  const required = ['type', 'host', 'databaseName', 'userName', 'password'];
  const trial = (body: unknown) => http(h, 'POST', `${PATH}/test`, { body });
  const fieldsOf = (res: { body: { errors: { field: string }[] } }) =>
    [...new Set(res.body.errors.map((e) => e.field))].sort();

  it('REST {"port": "x"} names port and every missing dialled field', async () => {
    const res = await trial({ port: 'x' });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(fieldsOf(res)).toEqual(['port', ...required].sort());
    expect(res.body.errors).toContainEqual({ field: 'port', message: 'port must be an integer' });
    for (const field of required) {
      expect(res.body.errors).toContainEqual({ field, message: expect.stringMatching(/required/) });
    }
  });

  it('REST: unknown fields and bad metadata do not hide the missing fields either', async () => {
    const res = await trial({ colour: 'red', metadata: { a: {} }, port: 5432 });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(['colour', 'metadata.a', ...required].sort());
  });

  it('REST: with an id only the given fields are checked', async () => {
    const res = await trial({ id: ID, port: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'port', message: 'port must be an integer' }]);
  });

  it.each([
    ['null', 'null'],
    ['an array', '[1]'],
    ['a string', '"x"'],
  ])('REST: %s as the body is a 400, not a 500', async (_name, raw) => {
    const res = await http(h, 'POST', `${PATH}/test`, {
      raw,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('tRPC connections.testSettings names the same fields', async () => {
    const api = connect(h.url);
    try {
      await api.connections.testSettings.mutate({ port: 'x' } as never);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TRPCClientError);
      const data = (err as TRPCClientError<never>).data as unknown as {
        code: string;
        errors: { field: string }[];
      };
      expect(data.code).toBe('VALIDATION_FAILED');
      expect([...new Set(data.errors.map((e) => e.field))].sort()).toEqual(['port', ...required].sort());
    }
  });
});

describe('malformed requests get a 4xx problem, never a 500', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  const post = (raw: string, contentType = 'application/json') =>
    http(h, 'POST', PATH, { raw, headers: { 'content-type': contentType, 'x-product-name': 'p' } });

  it.each([
    ['broken JSON', '{"configName": ', 'application/json', 400, 'MALFORMED_REQUEST'],
    ['an empty JSON body', '', 'application/json', 400, 'VALIDATION_FAILED'],
    ['a JSON array', '[1,2]', 'application/json', 400, 'VALIDATION_FAILED'],
    ['a JSON string', '"hello"', 'application/json', 400, 'VALIDATION_FAILED'],
    ['JSON null', 'null', 'application/json', 400, 'VALIDATION_FAILED'],
    ['form data', 'configName=x', 'application/x-www-form-urlencoded', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['text', 'hello', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['__proto__ pollution', '{"__proto__": {"x": 1}}', 'application/json', 400, 'MALFORMED_REQUEST'],
  ])('%s', async (_name, raw, type, status, code) => {
    const res = await post(raw, type);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe(code);
    expect((await h.rawRows()).length).toBe(0);
  });

  it('a body over 256 KiB answers 413', async () => {
    const res = await post(JSON.stringify({ ...seedBody(), metadata: { big: 'x'.repeat(300 * 1024) } }));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('an unknown route answers a 404 problem', async () => {
    const res = await http(h, 'GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });

  it('a malformed id answers 400 naming id; an unknown id 404', async () => {
    const bad = await http(h, 'GET', `${PATH}/not-a-uuid`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: 'id', message: expect.any(String) }]);
    const missing = await http(h, 'GET', `${PATH}/01890000-0000-7000-8000-000000000000`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
  });
});
