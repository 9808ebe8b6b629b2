import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from '../examples/typed-client.js';
import { type Harness, http, seedBody, startApi } from './harness.js';

/** The same operations through the typed tRPC client: same rules, same codes as REST. */
describe('tRPC door', () => {
  let h: Harness;
  let api: ReturnType<typeof connect>;
  beforeAll(async () => {
    h = await startApi();
    api = connect(h.url);
  });
  afterAll(async () => {
    await h.close();
  });

  const { schema: _schema, ...base } = seedBody();
  const codeOf = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      if (err instanceof TRPCClientError)
        return {
          code: err.data?.code,
          status: err.data?.httpStatus,
          errors: err.data?.errors,
          message: err.message,
        };
      throw err;
    }
    throw new Error('expected the call to fail');
  };

  it('creates, gets, lists and deletes with the typed client', async () => {
    const created = await api.connections.create.mutate({
      ...base,
      configName: 'trpc-one',
      productName: 'Alpha',
    });
    expect(created).toMatchObject({
      configName: 'trpc-one',
      productName: 'alpha',
      status: 'pending',
      version: 1,
      type: 'POSTGRESQL',
    });
    expect(created).not.toHaveProperty('password');
    expect(created.ssl).toEqual({ mode: 'require' });

    expect(await api.connections.get.query({ id: created.id })).toEqual(created);
    const page = await api.connections.list.query({ productName: 'alpha' });
    expect(page).toMatchObject({ total: 1, page: 1, limit: 10 });
    expect(page.items[0]?.id).toBe(created.id);

    // the REST door sees the same resource
    const rest = await http(h, 'GET', `/v1/management/connections/${created.id}`);
    expect(rest.body).toEqual(created);

    expect(await api.connections.delete.mutate({ id: created.id })).toEqual({
      id: created.id,
      deleted: true,
    });
    expect(await codeOf(api.connections.get.query({ id: created.id }))).toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
    });
  });

  it('creates a connection without a product (unassigned) for internal apps', async () => {
    const created = await api.connections.create.mutate({ ...base, configName: 'trpc-unassigned' });
    expect(created).not.toHaveProperty('productName');
    expect(created.status).toBe('pending');
  });

  it('answers the same codes as REST: VALIDATION_FAILED with every field, CONFIG_NAME_TAKEN, NOT_FOUND', async () => {
    const invalid = await codeOf(
      api.connections.create.mutate({
        ...base,
        configName: 'ab',
        port: 70000,
        productName: 'bad name',
      } as never),
    );
    expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(invalid.message).toBe('Invalid configName, port, productName');
    expect(invalid.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'configName',
      'port',
      'productName',
    ]);

    const unknown = await codeOf(
      api.connections.create.mutate({ ...base, configName: 'xyz', pasword: 'x' } as never),
    );
    expect(unknown.errors).toEqual([{ field: 'pasword', message: 'unknown field' }]);

    await api.connections.create.mutate({ ...base, configName: 'trpc-dup' });
    expect(await codeOf(api.connections.create.mutate({ ...base, configName: 'TRPC-DUP' }))).toMatchObject({
      code: 'CONFIG_NAME_TAKEN',
      status: 409,
    });
    const viaRest = await http(h, 'POST', '/v1/management/connections', {
      body: { ...base, configName: 'Trpc-Dup' },
      headers: { 'x-product-name': 'p' },
    });
    expect(viaRest.status).toBe(409);
    expect(viaRest.body.code).toBe('CONFIG_NAME_TAKEN');

    expect(
      await codeOf(api.connections.get.query({ id: '01890000-0000-7000-8000-000000000000' })),
    ).toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
    });
    expect(await codeOf(api.connections.get.query({ id: 'nope' }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
    });
    expect(await codeOf(api.connections.list.query({ limit: 101 }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
    });
  });

  it('a body refused before the procedure runs still answers in tRPC shape, with the catalogue code', async () => {
    const tooLarge = await codeOf(
      api.connections.create.mutate({ ...base, configName: 'big', metadata: { blob: 'x'.repeat(300_000) } }),
    );
    expect(tooLarge).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });

    const notJson = await http(h, 'POST', '/trpc/connections.create', {
      raw: '{"configName":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.data).toMatchObject({ code: 'MALFORMED_REQUEST', path: 'connections.create' });
    expect(notJson.body.error.message).not.toContain('configName');

    const wrongType = await http(h, 'POST', '/trpc/connections.create,connections.create?batch=1', {
      raw: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.map((r: { error: { data: { code: string } } }) => r.error.data.code)).toEqual([
      'UNSUPPORTED_MEDIA_TYPE',
      'UNSUPPORTED_MEDIA_TYPE',
    ]);
  });

  it('scopes by productName like the REST header', async () => {
    const created = await api.connections.create.mutate({
      ...base,
      configName: 'trpc-scoped',
      productName: 'gamma',
    });
    expect((await api.connections.get.query({ id: created.id, productName: 'GAMMA' })).id).toBe(created.id);
    expect(await codeOf(api.connections.get.query({ id: created.id, productName: 'delta' }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(
      await codeOf(api.connections.delete.mutate({ id: created.id, productName: 'delta' })),
    ).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('logs each request without its query string, where a GET may carry a secret', async () => {
    const input = encodeURIComponent(JSON.stringify({ ...base, password: 'in-the-query-string' }));
    const res = await http(h, 'GET', `/trpc/connections.testSettings?input=${input}`);
    expect(res.status).toBe(405);
    // The line is written once the response has gone out, so it may trail the answer a little.
    const line = await vi.waitFor(() => {
      const found = h.logs.find((l) => l.includes('"path":"/trpc/connections.testSettings"'));
      if (!found) throw new Error('no request line yet');
      return found;
    });
    expect(line).toContain('"statusCode":405');
    expect(h.logs.join('\n')).not.toContain('in-the-query-string');
  });

  it('never puts a secret in a log line', () => {
    const logs = h.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain('secretpassword');
  });
});
