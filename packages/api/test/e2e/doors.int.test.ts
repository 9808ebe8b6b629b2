import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { type Harness, http, startApi } from '../harness.js';
import { createConnection, LOCAL_PG, PATH } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const UNKNOWN = '01890000-0000-7000-8000-000000000000';

/** The code (and HTTP status) a tRPC call fails with. */
async function trpcError(call: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof TRPCClientError) return { code: err.data?.code, status: err.data?.httpStatus };
    throw err;
  }
  throw new Error('expected the call to fail');
}

/**
 * Both doors, endpoint by endpoint, for the codes each can answer beyond the ones covered in the
 * other files: the same code and status through REST and tRPC.
 */
describe('REST and tRPC answer the same codes for the interactive endpoints', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let api: ReturnType<typeof connect>;
  beforeAll(async () => {
    h = await startApi({ RATE_LIMIT_PER_CONNECTION: '2', VERIFY_ATTEMPTS: '1' });
    worker = await startWorkerProcess(h.env);
    api = connect(h.url);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('schema: 200 through both doors; 404 unknown; 400 bad id; 502 unreachable; 429 over the limit', async () => {
    const created = await api.connections.create.mutate({
      ...LOCAL_PG,
      configName: `doors-schema-${Date.now()}`,
      schema: 'public',
    });
    const viaTrpc = await api.connections.schema.query({ id: created.id });
    expect(viaTrpc).toMatchObject({ id: created.id, type: 'POSTGRESQL', schema: 'public' });
    const viaRest = await http(h, 'GET', `${PATH}/${created.id}/schema`);
    expect(viaRest.body).toEqual(viaTrpc);

    expect((await http(h, 'GET', `${PATH}/${UNKNOWN}/schema`)).status).toBe(404);
    expect(await trpcError(api.connections.schema.query({ id: UNKNOWN }))).toEqual({
      code: 'NOT_FOUND',
      status: 404,
    });
    expect((await http(h, 'GET', `${PATH}/nope/schema`)).body.code).toBe('VALIDATION_FAILED');
    expect(await trpcError(api.connections.schema.query({ id: 'nope' }))).toEqual({
      code: 'VALIDATION_FAILED',
      status: 400,
    });

    const down = await createConnection(h, { ...LOCAL_PG, host: 'nowhere.invalid' });
    expect((await http(h, 'GET', `${PATH}/${down}/schema`)).status).toBe(502);
    expect(await trpcError(api.connections.schema.query({ id: down }))).toEqual({
      code: 'DATA_SOURCE_DOWN',
      status: 502,
    });
    // two discoveries of `down` were counted (cached answers are not): the third is limited
    const limited = await http(h, 'GET', `${PATH}/${down}/schema`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await trpcError(api.connections.schema.query({ id: down }))).toEqual({
      code: 'RATE_LIMITED',
      status: 429,
    });
  });

  it('test: 404 unknown and 429 over the limit through tRPC too', async () => {
    expect(await trpcError(api.connections.test.mutate({ id: UNKNOWN }))).toEqual({
      code: 'NOT_FOUND',
      status: 404,
    });
    const id = await createConnection(h, LOCAL_PG);
    await api.connections.test.mutate({ id });
    await api.connections.test.mutate({ id });
    expect(await trpcError(api.connections.test.mutate({ id }))).toEqual({
      code: 'RATE_LIMITED',
      status: 429,
    });
    expect((await http(h, 'POST', `${PATH}/${id}/test`)).status).toBe(429);
  });

  it('testSettings: 400 names the missing fields, 404 for an unknown base id, both doors', async () => {
    const rest = await http(h, 'POST', `${PATH}/test`, { body: { id: UNKNOWN, password: 'x' } });
    expect(rest.status).toBe(404);
    expect(await trpcError(api.connections.testSettings.mutate({ id: UNKNOWN, password: 'x' }))).toEqual({
      code: 'NOT_FOUND',
      status: 404,
    });
    expect(await trpcError(api.connections.testSettings.mutate({ host: 'db.example.com' }))).toEqual({
      code: 'VALIDATION_FAILED',
      status: 400,
    });
    const unknownField = await http(h, 'POST', `${PATH}/test`, { body: { ...LOCAL_PG, colour: 'red' } });
    expect(unknownField.body.errors).toEqual([{ field: 'colour', message: 'unknown field' }]);
  });

  it('validateSchema: 400 over the limits and 422 through tRPC; listUnassigned 400 on a bad query', async () => {
    expect(
      await trpcError(
        api.connections.validateSchema.mutate({
          mappedFields: { c: { t: Array.from({ length: 51 }, (_, i) => `f${i}`) } },
        }),
      ),
    ).toEqual({ code: 'VALIDATION_FAILED', status: 400 });
    expect(await trpcError(api.connections.listUnassigned.query({ limit: 0 }))).toEqual({
      code: 'VALIDATION_FAILED',
      status: 400,
    });
    expect((await http(h, 'GET', `${PATH}/unassigned?limit=0`)).status).toBe(400);
  });

  it('X-Product-Name scopes test, schema, testSettings and validate-schema: another product sees 404', async () => {
    const name = `doors-scoped-${Date.now()}`;
    const created = await http(h, 'POST', PATH, {
      body: { ...LOCAL_PG, configName: name },
      headers: { 'x-product-name': 'alpha' },
    });
    const id = created.body.id as string;
    const other = { 'x-product-name': 'beta' };
    expect((await http(h, 'POST', `${PATH}/${id}/test`, { headers: other })).status).toBe(404);
    expect((await http(h, 'GET', `${PATH}/${id}/schema`, { headers: other })).status).toBe(404);
    expect(
      (await http(h, 'POST', `${PATH}/test`, { body: { id, databaseName: 'x' }, headers: other })).status,
    ).toBe(404);
    const validated = await http(h, 'POST', `${PATH}/validate-schema`, {
      body: { mappedFields: { [name]: { t: ['f'] } } },
      headers: other,
    });
    expect(validated.body.errors).toEqual([
      { type: 'DATA_SOURCE_NOT_FOUND', dataSourceId: name, message: expect.any(String) },
    ]);
    expect(await trpcError(api.connections.schema.query({ id, productName: 'beta' }))).toEqual({
      code: 'NOT_FOUND',
      status: 404,
    });
    expect(await trpcError(api.connections.test.mutate({ id, productName: 'beta' }))).toEqual({
      code: 'NOT_FOUND',
      status: 404,
    });
    // the owning product sees it
    expect(
      (await http(h, 'GET', `${PATH}/${id}/schema`, { headers: { 'x-product-name': 'Alpha' } })).status,
    ).toBe(200);
  });

  it('update and delete: 404, 409 and 400 through tRPC as through REST', async () => {
    expect(await trpcError(api.connections.update.mutate({ id: UNKNOWN, port: 1 }))).toEqual({
      code: 'NOT_FOUND',
      status: 404,
    });
    expect(await trpcError(api.connections.delete.mutate({ id: UNKNOWN }))).toEqual({
      code: 'NOT_FOUND',
      status: 404,
    });
    const a = await api.connections.create.mutate({ ...LOCAL_PG, configName: `doors-a-${Date.now()}` });
    const b = await api.connections.create.mutate({ ...LOCAL_PG, configName: `doors-b-${Date.now()}` });
    expect(
      await trpcError(api.connections.update.mutate({ id: b.id, configName: a.configName.toUpperCase() })),
    ).toEqual({
      code: 'CONFIG_NAME_TAKEN',
      status: 409,
    });
    expect(await trpcError(api.connections.update.mutate({ id: b.id, port: 0 }))).toEqual({
      code: 'VALIDATION_FAILED',
      status: 400,
    });
  });
});
