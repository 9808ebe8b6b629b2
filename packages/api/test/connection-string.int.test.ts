import { CONNECTION_STRING_FORMS, SECRET } from '@dbconn/shared/test-fixtures/connection-strings';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../examples/typed-client.js';
import { waitForStatus } from './e2e/helpers.js';
import { startWorkerProcess, type WorkerProcess } from './e2e/worker-process.js';
import { type Harness, http, startApi } from './harness.js';

const PATH = '/v1/management/connections';
const product = { 'x-product-name': 'strings' };
const create = (h: Harness, body: Record<string, unknown>) =>
  http(h, 'POST', PATH, { body, headers: product });

/** What a form does not carry, given beside the string (every create field rule still applies). */
const BESIDE = { databaseName: 'given', userName: 'given-user', password: 'given-password' };

describe('connectionString on create, update and try-before-save (docs/contract.md §12)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  let n = 0;
  it.each(CONNECTION_STRING_FORMS)('creates from %s', async (_name, connectionString, expected) => {
    const { password: _p, ...visible } = expected;
    const beside = Object.fromEntries(Object.entries(BESIDE).filter(([key]) => !(key in expected)));
    const res = await create(h, { configName: `form-${++n}`, connectionString, ...beside });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { password: _given, ...besideVisible } = beside as Record<string, unknown>;
    expect(res.body).toMatchObject({ ...visible, ...besideVisible });
    expect(res.body).not.toHaveProperty('password');
    expect(res.body).not.toHaveProperty('connectionString');
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(JSON.stringify(res.body)).not.toContain(encodeURIComponent(SECRET));

    // connectionUrl is the canonical form without the password, and reads back to the same fields.
    const roundTrip = await create(h, {
      configName: `form-${++n}`,
      connectionString: res.body.connectionUrl,
      password: BESIDE.password,
    });
    expect(roundTrip.status, JSON.stringify(roundTrip.body)).toBe(201);
    for (const field of ['type', 'host', 'port', 'databaseName', 'userName', 'schema', 'ssl', 'metadata'])
      expect(roundTrip.body[field], field).toEqual(res.body[field]);
  });

  it.each([
    ['an unknown scheme', `redis://u:${SECRET}@h:6379/0`],
    ['a port out of range', `postgres://u:${encodeURIComponent(SECRET)}@h:70000/db`],
    ['broken percent-encoding', `mysql://u:${SECRET}%zz@h/db`],
    ['not a string', 42],
    ['an unknown sslmode', `postgres://u:${encodeURIComponent(SECRET)}@h/db?sslmode=${SECRET}`],
  ])('answers 400 naming connectionString for %s, without echoing it', async (_name, connectionString) => {
    const res = await create(h, { configName: 'malformed', connectionString });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('connectionString');
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(encodeURIComponent(SECRET));
    expect(h.logs.join('\n')).not.toContain(SECRET);
  });

  it('answers 400 naming both when a field is given both ways with different values', async () => {
    const res = await create(h, {
      configName: 'conflict',
      connectionString: 'postgres://u:p@db.example.com:5432/sales',
      host: 'other.example.com',
      port: 5432,
      password: 'another',
    });
    expect(res.status).toBe(400);
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['host', 'password', 'connectionString']));
    expect(fields).not.toContain('port');
    expect(JSON.stringify(res.body)).not.toContain('another');
  });

  it('accepts a field given both ways when the values agree once normalised', async () => {
    const res = await create(h, {
      configName: 'agree',
      connectionString: 'postgresql://u:p@DB.example.com/sales?sslmode=require',
      type: 'postgresql',
      host: 'db.example.com',
      ssl: { mode: 'required' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ type: 'POSTGRESQL', host: 'db.example.com', ssl: { mode: 'require' } });
  });

  it('still applies every field rule to what the string carries', async () => {
    const res = await create(h, {
      configName: 'rules',
      connectionString: 'postgres://u@db_under_score.example.com/sales',
    });
    expect(res.status).toBe(400);
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['host', 'password']));
  });

  it('keeps a canary password in the sealed secret only: not in the row, the job, the logs or any answer', async () => {
    const canary = `canary-${Date.now()}-Zq9`;
    const answers: unknown[] = [];
    const created = await create(h, {
      configName: 'canary',
      connectionString: `postgresql://reporter:${canary}@db.example.com:5432/sales?sslmode=verify-full`,
    });
    expect(created.status).toBe(201);
    answers.push(created.body);
    const id = created.body.id as string;
    answers.push((await http(h, 'GET', `${PATH}/${id}`)).body);
    answers.push((await http(h, 'GET', PATH, { headers: product })).body);
    // A change through a string: same host, new password.
    const patched = await http(h, 'PATCH', `${PATH}/${id}`, {
      body: {
        connectionString: `postgresql://reporter:${canary}-2@db.example.com:5432/sales?sslmode=verify-full`,
      },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.version).toBe(2);
    answers.push(patched.body);
    const conflict = await http(h, 'PATCH', `${PATH}/${id}`, {
      body: { connectionString: `postgresql://reporter:${canary}@db.example.com/sales`, password: 'other' },
    });
    expect(conflict.status).toBe(400);
    answers.push(conflict.body);

    const row = (await h.rawRows()).find((r) => r.id === id);
    expect(row).toBeDefined();
    expect(String(row?.sealed_secrets)).toMatch(/^v1\./);
    const stored = await h.store.findById({ organizationId: 'default' }, id);
    const { sealedSecrets: _sealed, ...rest } = stored as NonNullable<typeof stored>;
    for (const where of [JSON.stringify(row), JSON.stringify(rest), await h.redisDump(), h.logs.join('\n')]) {
      expect(where).not.toContain(canary);
    }
    for (const answer of answers) expect(JSON.stringify(answer)).not.toContain(canary);
  });

  it('keeps the credential-redirection rule: a string that moves the host needs its password', async () => {
    const created = await create(h, {
      configName: 'redirect',
      connectionString: 'postgresql://reporter:first@db.example.com/sales',
    });
    expect(created.status).toBe(201);
    const moved = await http(h, 'PATCH', `${PATH}/${created.body.id}`, {
      body: { connectionString: 'postgresql://reporter@elsewhere.example.com/sales' },
    });
    expect(moved.status).toBe(400);
    expect(moved.body.errors.map((e: { field: string }) => e.field)).toContain('password');
    const withPassword = await http(h, 'PATCH', `${PATH}/${created.body.id}`, {
      body: { connectionString: 'postgresql://reporter:second@elsewhere.example.com/sales' },
    });
    expect(withPassword.status).toBe(200);
    expect(withPassword.body).toMatchObject({ host: 'elsewhere.example.com', status: 'pending' });
  });

  it('refuses a malformed string on try-before-save with 400 naming connectionString', async () => {
    const res = await http(h, 'POST', `${PATH}/test`, {
      body: { connectionString: `jdbc:oracle:thin:${SECRET}@ora.example.com:1521:ORCL` },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['connectionString']);
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
  });

  it('takes connectionString through the typed tRPC client, with the same rules', async () => {
    const api = connect(h.url);
    const created = await api.connections.create.mutate({
      configName: 'trpc-string',
      connectionString: `Server=tcp:sql.example.com,1433;Database=erp;User Id=report;Password=${SECRET.replaceAll(';', '')};Encrypt=true`,
    });
    expect(created).toMatchObject({
      type: 'SQL_SERVER',
      host: 'sql.example.com',
      port: 1433,
      databaseName: 'erp',
    });
    expect(created.connectionUrl).toBe('sqlserver://report@sql.example.com:1433?database=erp&encrypt=strict');
    const error = await api.connections.create
      .mutate({ configName: 'trpc-bad', connectionString: `mysql://u:${SECRET}%zz@h/db` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    const data = (error as TRPCClientError<never>).data as unknown as {
      code: string;
      errors: { field: string }[];
    };
    expect(data.code).toBe('VALIDATION_FAILED');
    expect(data.errors.map((e) => e.field)).toEqual(['connectionString']);
    expect(JSON.stringify(data)).not.toContain(SECRET);
    expect((error as Error).message).not.toContain(SECRET);
  });
});

describe('connectionString end to end (API + worker process + the local PostgreSQL)', () => {
  let h: Harness;
  let worker: WorkerProcess;
  const canary = `canary-e2e-${Date.now()}`;
  const local = `postgresql://postgres:${canary}@127.0.0.1:5432/test?sslmode=disable`;
  beforeAll(async () => {
    h = await startApi({ VERIFY_STAGE_TIMEOUT_MS: '3000', VERIFY_TIMEOUT_MS: '10000', LOG_LEVEL: 'info' });
    worker = await startWorkerProcess(h.env);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('verifies a connection created from a string, and tries one before saving', async () => {
    const created = await create(h, { configName: 'e2e-string', connectionString: local });
    expect(created.status).toBe(201);
    const settled = await waitForStatus(h, created.body.id);
    expect(settled.status).toBe('active');
    const tried = await http(h, 'POST', `${PATH}/test`, { body: { connectionString: local } });
    expect(tried.status).toBe(200);
    expect(tried.body.status).toBe('success');
    for (const text of [JSON.stringify(settled), JSON.stringify(tried.body), h.logs.join('\n')])
      expect(text).not.toContain(canary);
    expect(worker.output.join('')).not.toContain(canary);
  });
});
