import { randomBytes } from 'node:crypto';
import { VERIFICATION_CODES } from '@dbconn/shared';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../../src/ops/index.js';
import { toOpenApiPath } from '../../src/ops/openapi.js';
import { CONNECTIONS_PATH } from '../../src/rest/connections.rest.js';
import {
  AUDIENCE,
  bearer,
  type FakeAccessManager,
  ISSUER,
  makeKey,
  sign,
  startFakeAccessManager,
} from '../auth/fixtures.js';
import { startWorkerProcess, type WorkerProcess } from '../e2e/worker-process.js';
import { createSeed, type Harness, http, PG_URL, type Reply, seedBody, startApi } from '../harness.js';

// biome-ignore lint/suspicious/noExplicitAny: the document is read as plain JSON
type Json = any;

/**
 * ajv (2020-12, the dialect of OpenAPI 3.1 schemas) holding every `#/components/schemas/X` under an
 * id of its own, and `rewrite` to point a schema's `$ref`s at those ids.
 */
function schemaCompiler(doc: Json) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats.default(ajv);
  const base = 'https://dbconn.invalid/components/';
  const rewrite = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([k, v]) => [
          k,
          k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', base) : rewrite(v),
        ]),
      );
    }
    return node;
  };
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    ajv.addSchema({ ...rewrite(schema), $id: `${base}${name}` });
  }
  return { ajv, rewrite, componentIds: Object.keys(doc.components.schemas).map((name) => `${base}${name}`) };
}

/** Every schema an operation holds: parameters, request bodies, response bodies and headers. */
function operationSchemas(doc: Json): [string, Json][] {
  const out: [string, Json][] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(ops as Record<string, Json>)) {
      const at = `${method} ${path}`;
      for (const p of op.parameters ?? []) out.push([`${at} parameter ${p.name}`, p.schema]);
      for (const [type, c] of Object.entries(op.requestBody?.content ?? {})) {
        out.push([`${at} body ${type}`, (c as Json).schema]);
      }
      for (const [status, r] of Object.entries(op.responses as Record<string, Json>)) {
        for (const [type, c] of Object.entries(r.content ?? {}))
          out.push([`${at} ${status} ${type}`, (c as Json).schema]);
        for (const [name, hd] of Object.entries(r.headers ?? {}))
          out.push([`${at} ${status} ${name}`, (hd as Json).schema]);
      }
    }
  }
  return out;
}

/** Validates real answers against the response schemas the document gives for their status. */
function responseValidator(doc: Json) {
  const { ajv, rewrite } = schemaCompiler(doc);
  const compiled = new Map<string, ValidateFunction>();

  return (method: string, path: string, reply: Reply) => {
    const response = doc.paths[path]?.[method]?.responses?.[String(reply.status)];
    expect(response, `${method} ${path} documents ${reply.status}`).toBeDefined();
    const contentType = reply.headers.get('content-type')?.split(';')[0];
    if (!response.content) {
      expect(reply.body, `${method} ${path} ${reply.status} has no body`).toBeUndefined();
      return;
    }
    expect(Object.keys(response.content), `${method} ${path} ${reply.status} content type`).toContain(
      contentType,
    );
    const key = `${method} ${path} ${reply.status} ${contentType}`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile(rewrite(response.content[contentType as string].schema));
      compiled.set(key, validate);
    }
    const valid = validate(reply.body);
    expect(validate.errors ?? [], `${key}: ${JSON.stringify(reply.body)}`).toEqual([]);
    expect(valid).toBe(true);
  };
}

describe('/openapi.json', () => {
  let h: Harness;
  let doc: Json;
  let check: ReturnType<typeof responseValidator>;
  const base = CONNECTIONS_PATH;

  beforeAll(async () => {
    h = await startApi();
    const res = await http(h, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
    check = responseValidator(doc);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('holds only schemas that compile as strict JSON Schema 2020-12', () => {
    // The OpenAPI validator checks the document's structure, not the JSON Schema inside it.
    const { ajv, rewrite, componentIds } = schemaCompiler(doc);
    for (const id of componentIds) expect(ajv.getSchema(id), id).toBeTypeOf('function');
    const schemas = operationSchemas(doc);
    expect(schemas.length).toBeGreaterThan(50);
    for (const [where, schema] of schemas) {
      expect(() => ajv.compile(rewrite(schema)), where).not.toThrow();
    }
  });

  it('documents every route the app registered under /v1, and no route it did not', () => {
    const routes = registeredRoutes(h.app).filter((r) => r.url.startsWith('/v1/'));
    expect(routes.length).toBeGreaterThanOrEqual(11);
    const registered = new Set(routes.map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.url)}`));
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Json>)
        .filter(([path]) => path.startsWith('/v1/'))
        .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`)),
    );
    expect([...registered].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !registered.has(d))).toEqual([]);
    for (const probe of ['/health', '/ready']) expect(doc.paths[probe]?.get).toBeDefined();
  });

  it('documents the parameters: id, X-Product-Name with its pattern, If-Match, every list filter', () => {
    const params = (path: string, method: string) =>
      new Map<string, Json>(doc.paths[path][method].parameters.map((p: Json) => [p.name, p]));
    const create = params(base, 'post');
    expect(create.get('X-Product-Name')).toMatchObject({ in: 'header', required: true });
    expect(create.get('X-Product-Name').schema.pattern).toBe('^[a-zA-Z0-9_-]+$');
    expect(params(`${base}/{id}`, 'get').get('id')).toMatchObject({ in: 'path', required: true });
    expect(params(`${base}/{id}`, 'patch').get('If-Match')).toMatchObject({ in: 'header' });
    const list = params(base, 'get');
    for (const name of [
      'page',
      'limit',
      'sortOrder',
      'type',
      'status',
      'startDate',
      'endDate',
      'metadata.<key>',
    ]) {
      expect(list.get(name), name).toMatchObject({ in: 'query' });
    }
    expect(doc.components.schemas.Problem.properties.code.enum).toContain('CONFIG_NAME_TAKEN');
  });

  it('types the verification codes: a stage code and an error code are one of the catalogue', () => {
    const { TestResult, Connection } = doc.components.schemas;
    for (const code of [
      TestResult.properties.error.properties.code,
      TestResult.properties.stages.items.properties.code,
      Connection.properties.verification.properties.error.properties.code,
    ]) {
      expect(code.enum).toEqual(Object.keys(VERIFICATION_CODES));
    }
  });

  it('describes the real answers: create, list, get, update, delete, assign, errors, probes', async () => {
    const created = await createSeed(h);
    check('post', base, created);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const byId = `${base}/{id}`;

    check('get', base, await http(h, 'GET', `${base}?metadata.team=data-engineering&sortOrder=asc`));
    check('get', byId, await http(h, 'GET', `${base}/${id}`));
    check(
      'patch',
      byId,
      await http(h, 'PATCH', `${base}/${id}`, {
        body: { metadata: { team: 'x' } },
        headers: { 'if-match': '"1"' },
      }),
    );

    const invalid = await http(h, 'POST', base, {
      body: { ...seedBody(), port: 'x', configName: 'a' },
      headers: { 'x-product-name': 'p' },
    });
    expect(invalid.status).toBe(400);
    check('post', base, invalid);
    const badHeader = await createSeed(h, { configName: 'another-one' }, 'bad name');
    expect(badHeader.body.code).toBe('INVALID_HEADER');
    check('post', base, badHeader);
    const taken = await createSeed(h);
    expect(taken.status).toBe(409);
    check('post', base, taken);
    const stale = await http(h, 'PATCH', `${base}/${id}`, {
      body: { port: 1 },
      headers: { 'if-match': '"1"' },
    });
    expect(stale.status).toBe(412);
    check('patch', byId, stale);
    const missing = await http(h, 'GET', `${base}/0190d7a0-0000-7000-8000-000000000000`);
    expect(missing.status).toBe(404);
    check('get', byId, missing);
    const malformed = await http(h, 'POST', base, {
      raw: '{"configName":',
      headers: { 'content-type': 'application/json', 'x-product-name': 'p' },
    });
    expect(malformed.status).toBe(400);
    check('post', base, malformed);
    const notJson = await http(h, 'POST', base, {
      raw: 'hello',
      headers: { 'content-type': 'text/plain', 'x-product-name': 'p' },
    });
    expect(notJson.status).toBe(415);
    check('post', base, notJson);

    // An unassigned connection (tRPC may create one) is assigned once, then refused.
    const unassigned = await http(h, 'POST', '/trpc/connections.create', {
      body: { ...seedBody(), configName: 'no-product-yet' },
    });
    const freeId = unassigned.body.result.data.id as string;
    check('get', `${base}/unassigned`, await http(h, 'GET', `${base}/unassigned`));
    const assign = (product: string) =>
      http(h, 'POST', `${base}/${freeId}/assign`, { headers: { 'x-product-name': product } });
    check('post', `${byId}/assign`, await assign('mine'));
    const again = await assign('theirs');
    expect(again.status).toBe(409);
    check('post', `${byId}/assign`, again);

    const notMapped = await http(h, 'POST', `${base}/validate-schema`, {
      body: { mappedFields: { 'no-such-connection': { orders: ['id'] } } },
    });
    expect(notMapped.status).toBe(422);
    check('post', `${base}/validate-schema`, notMapped);

    const deleted = await http(h, 'DELETE', `${base}/${id}`);
    expect(deleted.status).toBe(204);
    check('delete', byId, deleted);

    check('get', '/health', await http(h, 'GET', '/health'));
    check('get', '/ready', await http(h, 'GET', '/ready'));
  });
});

describe('/openapi.json with a worker: the answers that need a dial', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let check: ReturnType<typeof responseValidator>;
  const base = CONNECTIONS_PATH;
  const local = {
    type: 'POSTGRESQL',
    host: '127.0.0.1',
    port: 5432,
    databaseName: 'test',
    userName: 'postgres',
    password: 'trust',
  };

  /** A schema of the database `test` with one table to discover and validate against. */
  const dialSchema = `openapi_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${dialSchema}`);
    await admin.query(`CREATE TABLE ${dialSchema}.connections (id text, config_name text)`);
    h = await startApi();
    worker = await startWorkerProcess(h.env);
    check = responseValidator((await http(h, 'GET', '/openapi.json')).body);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${dialSchema} CASCADE`);
    await admin.end();
  });

  it('describes test, try before save, schema, validate-schema and a verified connection', async () => {
    const created = await http(h, 'POST', base, {
      // Not the store's own database: that one is never dialled (SELF_TARGET_FORBIDDEN).
      body: { ...local, configName: 'openapi-dial', schema: dialSchema },
      headers: { 'x-product-name': 'p' },
    });
    const id = created.body.id as string;
    const tested = await http(h, 'POST', `${base}/${id}/test`);
    expect(tested.body.status).toBe('success');
    check('post', `${base}/{id}/test`, tested);
    const verified = await http(h, 'GET', `${base}/${id}`);
    expect(verified.body.verification.outcome).toBe('passed');
    check('get', `${base}/{id}`, verified);

    const failure = await http(h, 'POST', `${base}/test`, {
      body: { ...local, databaseName: 'no_such_db_openapi' },
    });
    expect(failure.body.status).toBe('failure');
    check('post', `${base}/test`, failure);

    const schema = await http(h, 'GET', `${base}/${id}/schema`);
    expect(schema.status).toBe(200);
    check('get', `${base}/{id}/schema`, schema);
    const down = await http(h, 'POST', base, {
      body: { ...local, host: 'nowhere.invalid', configName: 'openapi-down' },
      headers: { 'x-product-name': 'p' },
    });
    const unreachable = await http(h, 'GET', `${base}/${down.body.id}/schema`);
    expect(unreachable.status).toBe(502);
    check('get', `${base}/{id}/schema`, unreachable);

    const valid = await http(h, 'POST', `${base}/validate-schema`, {
      body: { mappedFields: { 'openapi-dial': { connections: ['id', 'config_name'] } } },
    });
    expect(valid.status).toBe(200);
    check('post', `${base}/validate-schema`, valid);
  });
});

describe('/openapi.json with auth on: the bearer scheme and the answers of access control', () => {
  let h: Harness;
  let am: FakeAccessManager;
  let doc: Json;
  let check: ReturnType<typeof responseValidator>;
  const base = CONNECTIONS_PATH;

  beforeAll(async () => {
    am = await startFakeAccessManager();
    const key = await makeKey('ES256');
    h = await startApi({
      PLUGIN_AUTH_ENABLED: 'true',
      PLUGIN_AUTH_ADDRESS: am.url,
      AUTH_JWT_VERIFY_CERT: key.pem,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      MULTI_TENANT_ENABLED: 'true',
    });
    doc = (await http(h, 'GET', '/openapi.json')).body;
    check = responseValidator(doc);
    // Tokens for the answers below, signed once.
    tokens.good = await sign(key, { claims: { tenantId: 'acme' } });
    tokens.noTenant = await sign(key);
    tokens.expired = await sign(key, { claims: { tenantId: 'acme' }, expiresIn: -3600 });
  });
  afterAll(async () => {
    await h?.close();
    await am?.close();
  });
  const tokens = { good: '', noTenant: '', expired: '' };

  it('declares the bearer scheme, names it on every /v1 operation, and leaves the probes open', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    const operations = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, Json>).map(([method, op]) => [`${method} ${path}`, op] as const),
    );
    for (const [at, op] of operations) {
      if (at.includes(' /v1/')) {
        expect(op.security, at).toEqual([{ bearerAuth: [] }]);
        for (const [status, codes] of [
          ['401', ['UNAUTHENTICATED']],
          ['403', ['FORBIDDEN', 'TENANT_REQUIRED']],
          ['503', ['AUTH_UNAVAILABLE']],
        ] as const) {
          const documented = op.responses[status]?.content['application/problem+json'].schema.allOf[1];
          expect(documented?.properties.code.enum, `${at} ${status}`).toEqual(
            expect.arrayContaining([...codes]),
          );
        }
        expect(op.responses['401'].headers['WWW-Authenticate'], at).toBeDefined();
        expect(op.responses['503'].headers['Retry-After'], at).toBeDefined();
      } else {
        expect(op.security, at).toEqual([]);
      }
    }
  });

  it('describes the real answers: 401 without or with a bad token, 403 TENANT_REQUIRED and FORBIDDEN, 503 AUTH_UNAVAILABLE', async () => {
    const byId = `${base}/{id}`;
    const missing = await http(h, 'GET', base);
    expect(missing.status).toBe(401);
    check('get', base, missing);
    const expired = await http(h, 'GET', base, { headers: bearer(tokens.expired) });
    expect(expired.body.code).toBe('UNAUTHENTICATED');
    check('get', base, expired);
    const noTenant = await http(h, 'GET', base, { headers: bearer(tokens.noTenant) });
    expect(noTenant.body.code).toBe('TENANT_REQUIRED');
    check('get', base, noTenant);
    am.behave('deny');
    const denied = await http(h, 'DELETE', `${base}/0190d7a0-0000-7000-8000-000000000000`, {
      headers: bearer(tokens.good),
    });
    expect(denied.body.code).toBe('FORBIDDEN');
    check('delete', byId, denied);
    am.behave('status-500');
    const down = await http(h, 'POST', base, {
      body: seedBody(),
      headers: { ...bearer(tokens.good), 'x-product-name': 'p' },
    });
    expect(down.body.code).toBe('AUTH_UNAVAILABLE');
    check('post', base, down);
    am.behave('allow');
    const created = await http(h, 'POST', base, {
      body: seedBody(),
      headers: { ...bearer(tokens.good), 'x-product-name': 'p' },
    });
    expect(created.body.createdBy).toBe('acme/alice');
    check('post', base, created);
  });
});
